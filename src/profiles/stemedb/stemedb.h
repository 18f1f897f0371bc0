/* stemedb.h: the StemeDB profile (profile.h), SPEC section 6: its node
 * API's paths and bodies are written only here and in scrape.c,
 * breakers.c and merklewalk.c beside it. */
#ifndef REPLGUARD_STEMEDB_H
#define REPLGUARD_STEMEDB_H

#include "profiles/profile.h"

extern const struct profile_ops stemedb_profile;

#endif
