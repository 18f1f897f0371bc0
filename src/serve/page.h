/* page.h: the status page's files (GET /, /app.js, /style.css),
 * compiled into the binary: src/serve/page/ holds the sources, and the
 * build turns them into a table (pagedata.c, written by
 * page/pageembed.c) so that replguard needs no files and no network to
 * serve its page. */
#ifndef REPLGUARD_PAGE_H
#define REPLGUARD_PAGE_H

#include <stddef.h>

/* One embedded file: the path it is served at, its content type, its
 * bytes (not NUL-terminated). */
struct page_file {
    const char *path;
    const char *ctype;
    const unsigned char *data;
    size_t len;
};

/* The table pagedata.c defines, page_n_files rows. */
extern const struct page_file page_files[];
extern const size_t page_n_files;

/* page_find: the file served at path ("/" is index.html), or NULL. */
const struct page_file *page_find(const char *path);

#endif
