/* jsonget.h: reading a member of a cJSON object with a default, for the
 * journal's records (executor replay and resume).
 *
 * A missing member or one of another type reads as the default, never as
 * an error: the journal's reader has checked each record's frame, and a
 * field a record lacks means "none". */
#ifndef REPLGUARD_JSONGET_H
#define REPLGUARD_JSONGET_H

#include <cjson/cJSON.h>

/* jsonget_str: o's string member k, or "" when it is missing or not a
 * string. The result is owned by o. */
const char *jsonget_str(const cJSON *o, const char *k);

/* jsonget_num: o's number member k, or 0 when it is missing or not a
 * number. */
double jsonget_num(const cJSON *o, const char *k);

#endif
