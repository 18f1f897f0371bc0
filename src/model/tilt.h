/* tilt.h: TILT mode (the name is Redis Sentinel's): when the engine loop
 * stalled or the wall clock jumped, replguard starts no action for
 * TILT_HOLD seconds from the last trigger, while monitoring goes on.
 *
 * Pure: tilt_observe() takes both clocks' readings at one point of the
 * engine loop (the engine observes at the top of each iteration and
 * again right before the executor runs) and says what changed; the
 * engine logs, audits and exports it, and the executor starts nothing
 * while tilt_active().
 *
 * The thresholds:
 * - TILT_STALL_AFTER, 2 s between two observations (Sentinel's
 *   figure). The loop comes round at least every 50 ms, and one
 *   iteration's own work (assessing and rendering a round, a journal
 *   fsync) takes milliseconds, so 2 s is 40 ticks: no healthy loop, even
 *   under sanitizers on a loaded machine, comes near it, while a
 *   suspended process, a swapped-out or CPU-starved daemon or a hung
 *   disk does. After such a gap every number replguard holds is older
 *   than it looks (2 intervals at the 1 s default), and alerts that
 *   queued meanwhile describe a world that has moved on.
 * - TILT_JUMP_AFTER, 1 s of wall clock moved against the monotonic one
 *   between two observations, either way. Slewing (at most 500 ppm, 25 us
 *   a tick) and the jitter of reading two clocks stay far below; an NTP
 *   or manual step, or a VM resumed from a snapshot, does not. A jump
 *   shifts every heartbeat lag by its size and moves cooldowns and
 *   stamps (wall clock) against intervals (monotonic). */
#ifndef REPLGUARD_TILT_H
#define REPLGUARD_TILT_H

#include <stdbool.h>
#include <stdint.h>

#define TILT_STALL_AFTER 2.0  /* seconds between two observations */
#define TILT_JUMP_AFTER  1.0  /* seconds the wall clock moved vs mono */
#define TILT_HOLD        30.0 /* seconds held after the last trigger */

enum tilt_reason { TILT_STALL, TILT_CLOCK_JUMP, TILT_REASONS };

/* What one observation changed. */
enum tilt_event {
    TILT_NONE,     /* nothing: in TILT or not, as before */
    TILT_ENTERED,  /* a trigger started TILT */
    TILT_EXTENDED, /* a trigger while in TILT: the hold starts over */
    TILT_LEFT,     /* the hold is over: actions may start again */
};

/* The detector's state; the caller owns it (tilt_init). */
struct tilt {
    bool primed;        /* a previous observation exists */
    double last_mono;   /* of the previous observation */
    double last_offset; /* wall - mono at the previous observation */
    bool active;
    double until; /* monotonic: when TILT ends, while active */
    /* the last trigger */
    enum tilt_reason reason;
    double amount; /* seconds: the stall, or the jump (signed) */
    uint64_t total[TILT_REASONS];
};

/* tilt_init: not in TILT, no previous observation, no triggers. */
void tilt_init(struct tilt *t);

/* tilt_observe: one observation: the monotonic and the wall clock read
 * at the same instant (seconds). A gap since the previous observation over
 * TILT_STALL_AFTER is a stall; else the wall clock moving against the
 * monotonic one by more than TILT_JUMP_AFTER is a clock jump. Either
 * (re)starts the hold: TILT lasts until TILT_HOLD after the last
 * trigger. The first observation only primes. Returns what changed. */
enum tilt_event tilt_observe(struct tilt *t, double mono, double wall);

/* tilt_active: whether actions are held now. */
static inline bool tilt_active(const struct tilt *t)
{
    return t->active;
}

/* tilt_reason_name: "stall" or "clock_jump". */
const char *tilt_reason_name(enum tilt_reason r);

#endif
