/* Messages between the runtime (pyrunc/linux/launcher.py) and pyrunc-init over a
 * SOCK_SEQPACKET socketpair: u32 type, then the payload. Keep in step with launcher.py. */
#ifndef PYRUNC_SYNC_H
#define PYRUNC_SYNC_H

enum sync_msg {
    SYNC_USERNS = 1,     /* init -> runtime: I unshared a user namespace, write my id maps */
    SYNC_MAPS_DONE = 2,  /* runtime -> init */
    SYNC_PID = 3,        /* init -> runtime: u32 host pid of the container init */
    SYNC_GO = 4,         /* runtime -> init: no payload; SCM_RIGHTS: a memfd holding
                          * createContainer state JSON \0 startContainer state JSON \0 */
    SYNC_READY = 5,      /* init -> runtime: set up, waiting on the exec fifo */
    SYNC_ERROR = 6,      /* init -> runtime: one-line reason */
    SYNC_SECCOMP = 7,    /* init -> runtime, before READY (or the exec): no payload;
                          * SCM_RIGHTS: the seccomp notify listener, for listenerPath */
};

#endif
