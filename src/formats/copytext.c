/* copytext.c: COPY text rows (see copytext.h). */
#include "formats/copytext.h"

#include <string.h>

/* unescape: the character escaped by "\c", or -1 when c escapes none. */
static int unescape(char c)
{
    switch (c) {
    case '\\':
        return '\\';
    case 't':
        return '\t';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'v':
        return '\v';
    default:
        return -1;
    }
}

/* end_field: closes the field that started at out[start], NUL-terminated
 * at out[*o]; a field that is exactly \N (escaped) is NULL. */
static bool end_field(struct copytext_row *row, char *out, size_t start,
                      size_t *o, size_t size, bool null)
{
    if (row->n == COPYTEXT_MAX_FIELDS || *o >= size)
        return false;
    out[(*o)++] = '\0';
    row->field[row->n++] = null ? NULL : out + start;
    return true;
}

int copytext_next(const char *text, size_t len, size_t *pos, char *buf,
                  size_t size, struct copytext_row *row, const char **why)
{
    size_t i = *pos, o = 0, start = 0;
    bool null = false;
    row->n = 0;
    if (i >= len)
        return 0;
    size_t eol = i;
    while (eol < len && text[eol] != '\n')
        eol++;
    *pos = eol < len ? eol + 1 : eol;
    *why = NULL;
    for (; i < eol && !*why; i++) {
        char c = text[i];
        if (c == '\t') {
            if (!end_field(row, buf, start, &o, size, null))
                *why = "too many fields or too long";
            start = o;
            null = false;
        } else if (c == '\0') {
            *why = "a NUL byte";
        } else if (c == '\\') {
            if (i + 1 < eol && text[i + 1] == 'N' && o == start &&
                (i + 2 == eol || text[i + 2] == '\t')) {
                null = true;
                i++;
                continue;
            }
            int u = i + 1 < eol ? unescape(text[i + 1]) : -1;
            if (u < 0 || o + 1 >= size)
                *why = u < 0 ? "a bad escape" : "a row too long";
            else
                buf[o++] = (char)u;
            i++;
        } else if (null || o + 1 >= size) {
            *why = null ? "text after \\N" : "a row too long";
        } else {
            buf[o++] = c;
        }
    }
    if (!*why && !end_field(row, buf, start, &o, size, null))
        *why = "too many fields or too long";
    return *why ? -1 : 1;
}
