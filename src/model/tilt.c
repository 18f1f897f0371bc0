/* tilt.c: the TILT detector (see tilt.h). */
#include "model/tilt.h"

#include <math.h>

void tilt_init(struct tilt *t)
{
    *t = (struct tilt){.primed = false};
}

const char *tilt_reason_name(enum tilt_reason r)
{
    static const char *const names[TILT_REASONS] = {"stall", "clock_jump"};
    return (unsigned)r < TILT_REASONS ? names[r] : "unknown";
}

enum tilt_event tilt_observe(struct tilt *t, double mono, double wall)
{
    double offset = wall - mono;
    double gap = mono - t->last_mono, jump = offset - t->last_offset;
    bool primed = t->primed;
    t->primed = true;
    t->last_mono = mono;
    t->last_offset = offset;
    if (!primed)
        return TILT_NONE;
    bool stall = gap > TILT_STALL_AFTER;
    if (stall || fabs(jump) > TILT_JUMP_AFTER) {
        t->reason = stall ? TILT_STALL : TILT_CLOCK_JUMP;
        t->amount = stall ? gap : jump;
        t->total[t->reason]++;
        t->until = mono + TILT_HOLD;
        bool was = t->active;
        t->active = true;
        return was ? TILT_EXTENDED : TILT_ENTERED;
    }
    if (t->active && mono >= t->until) {
        t->active = false;
        return TILT_LEFT;
    }
    return TILT_NONE;
}
