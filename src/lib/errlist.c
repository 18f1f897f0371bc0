/* errlist.c: see errlist.h. */
#include "lib/errlist.h"

#include <stdlib.h>

void errlist_init(struct errlist *errs)
{
    errs->msg = NULL;
    errs->n = 0;
    errs->cap = 0;
}

void errlist_reset(struct errlist *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        free(errs->msg[i]);
    free(errs->msg);
    errlist_init(errs);
}
