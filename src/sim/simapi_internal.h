/* simapi_internal.h: shared by simapi.c and simapirepl.c only. */
#ifndef REPLGUARD_SIMAPI_INTERNAL_H
#define REPLGUARD_SIMAPI_INTERNAL_H

#include "sim/simapi.h"

#include <cjson/cJSON.h>

struct call {
    struct sim *s;
    unsigned ci, ni;
    const struct simapi_request *rq;
    struct simapi_reply *out;
};

enum ftype { F_NUM, F_STR, F_BOOL, F_DUR };

/* A field to copy out of a JSON object body. */
struct field {
    const char *name;
    enum ftype type;
    bool required;
    void *dst;   /* double * (F_NUM, F_DUR), char * (F_STR), bool * */
    size_t size; /* F_STR: capacity of dst */
};

/* simapi_emit: makes r a JSON reply of j (consumed). */
void simapi_emit(struct simapi_reply *r, unsigned status, cJSON *j);
/* simapi_status: the HTTP status of a negated sim_error. */
unsigned simapi_status(int rc);
/* simapi_reply_rc: the answer to a sim call that returned rc. */
void simapi_reply_rc(struct simapi_reply *r, int rc, unsigned ok_status);
/* simapi_fields: copies the body's fields out, answering 400 on failure. */
int simapi_fields(struct call *c, const struct field *f, size_t n);

/* simapirepl.c: client writes, promotion, fencing, repointing. */
void simapi_h_write(struct call *c);
void simapi_h_promote(struct call *c);
void simapi_h_fence(struct call *c);
void simapi_h_replicate_from(struct call *c);

#endif
