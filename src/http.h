/* NODEPROF_HTTP: Go-style pprof endpoints, served by the agent thread on
 * its own libuv loop (wake.h), never the app's:
 *   GET  /debug/pprof/               an index
 *   GET  /debug/pprof/profile?seconds=N   CPU profile of the next N s (30)
 *   GET  /debug/pprof/heap[?seconds=N]    sampling heap profile
 *   GET  /debug/pprof/stack          the main thread's stack (text)
 *   POST /nodeprof/ctl               a control command; the FIFO's reply
 * Requests are parsed by node's own llhttp (common/httpreq.h); work that
 * needs JavaScript goes to the main thread through dispatch.h, with a
 * completion run back on the agent thread (request.h: run, done), and
 * profiles are converted to pprof on the agent thread.
 *
 * Never blocking the agent thread on a peer: sockets are non-blocking
 * (libuv), a request must arrive whole within NP_HTTP_READ_MS and a
 * response be taken within NP_HTTP_WRITE_MS, at most NP_HTTP_CONNS
 * connections at once (more are closed at once), one CPU and one heap
 * profile request at a time (others: 429).
 *
 * Security: a non-loopback address needs NODEPROF_HTTP_TOKEN_FILE; with a
 * token every request needs it (401 otherwise, and nothing else). A
 * refused configuration is one nodeprof: line; the app runs on. */
#ifndef NP_HTTP_H
#define NP_HTTP_H

#define NP_HTTP_CONNS 8
#define NP_HTTP_READ_MS 10000
#define NP_HTTP_WRITE_MS 30000
/* A request the main thread has not answered this long after it was due
 * (a profile: after its seconds) is given up: the connection is closed. */
#define NP_HTTP_GRACE_MS 60000

/* Main thread, before the agent thread runs its loop: reads the
 * configuration and, when NODEPROF_HTTP is set and allowed, listens. */
void np_http_start(void);

#endif
