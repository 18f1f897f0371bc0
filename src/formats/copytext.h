/* copytext.h: PostgreSQL's COPY text form, as the poller returns SQL
 * answers (pgreq.h): one row a line, fields separated by tabs, NULL as
 * \N, and backslash escapes (\\ \t \n \r \b \f \v, and \N only as a
 * whole field). Answers come from the network: rows and fields are
 * capped, anything malformed is an error, never a crash. */
#ifndef REPLGUARD_COPYTEXT_H
#define REPLGUARD_COPYTEXT_H

#include <stdbool.h>
#include <stddef.h>

#define COPYTEXT_MAX_FIELDS 16

/* One row: n fields, each NUL-terminated in the caller's buffer (NULL
 * for an SQL NULL). */
struct copytext_row {
    size_t n;
    const char *field[COPYTEXT_MAX_FIELDS];
};

/* copytext_next: reads the row of text[*pos..len) into row, its fields
 * unescaped into buf (size bytes), and advances *pos past it. Returns
 * 1 for a row, 0 at the end, -1 when the row is malformed (a bad
 * escape, more than COPYTEXT_MAX_FIELDS fields, longer than buf, a
 * NUL byte) with *why set to a static reason; *pos is then past the
 * row. A last row without its newline is still a row. */
int copytext_next(const char *text, size_t len, size_t *pos, char *buf,
                  size_t size, struct copytext_row *row, const char **why);

#endif
