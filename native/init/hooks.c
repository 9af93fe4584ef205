/* createContainer and startContainer hooks, run by the init inside the container's
 * namespaces: fork, state JSON on stdin, execve, wait with the hook's timeout.
 * As with the runtime-side hooks (pyrunc/linux/hooks.py): stdout is discarded, stderr is
 * kept and shown, on one line, only when the hook fails. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "init.h"

extern char **environ;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The child: stdin from `in`, stdout to /dev/null, stderr to `err`; errno of a failed
 * execve written to `report` (O_CLOEXEC: closed, and so empty, when execve works). */
static void __attribute__((noreturn)) child(const struct hook *h, int in, int err, int report)
{
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (dup2(in, 0) < 0 || dup2(null < 0 ? err : null, 1) < 0 || dup2(err, 2) < 0)
        goto fail;
    signal(SIGPIPE, SIG_DFL);
    /* the init works with umask 0 until the process' own is set: hooks get the usual 022 */
    mode_t old = umask(022);
    if (old != 0) umask(old);
    char *const *argv = h->args.n ? (char *const *)h->args.v
                                  : (char *const[]){ (char *)h->path, NULL };
    execve(h->path, argv, h->inherit_env ? environ : (char *const *)h->env.v);
fail:;
    int e = errno;
    (void)!write(report, &e, sizeof e);
    _exit(127);
}

/* Append what the hook wrote on stderr (the first bytes; the rest is read and dropped). */
static void drain(int fd, char *buf, size_t cap, size_t *len)
{
    char scratch[4096];
    ssize_t n;
    while ((n = read(fd, scratch, sizeof scratch)) > 0) {
        size_t take = (size_t)n < cap - 1 - *len ? (size_t)n : cap - 1 - *len;
        memcpy(buf + *len, scratch, take);
        *len += take;
    }
    buf[*len] = '\0';
}

/* stderr as one line for the error message */
static const char *one_line(char *text)
{
    for (char *c = text; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t') *c = ' ';
    size_t len = strlen(text);
    while (len && text[len - 1] == ' ') text[--len] = '\0';
    while (*text == ' ') text++;
    return text;
}

static int run_one(const char *kind, int index, const struct hook *h, const char *state)
{
    int in[2], err[2], report[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return fail_errno("%s hook #%d (%s): pipe", kind, index, h->path);
    if (pipe2(err, O_CLOEXEC) < 0) {
        close(in[0]); close(in[1]);
        return fail_errno("%s hook #%d (%s): pipe", kind, index, h->path);
    }
    if (pipe2(report, O_CLOEXEC) < 0) {
        close(in[0]); close(in[1]); close(err[0]); close(err[1]);
        return fail_errno("%s hook #%d (%s): pipe", kind, index, h->path);
    }
    pid_t pid = fork();
    if (pid == 0)
        child(h, in[0], err[1], report[1]);
    int saved = errno;
    close(in[0]); close(err[1]); close(report[1]);
    if (pid < 0) {
        close(in[1]); close(err[0]); close(report[0]);
        errno = saved;
        return fail_errno("%s hook #%d (%s): fork", kind, index, h->path);
    }
    int exec_errno = 0;
    ssize_t got = read(report[0], &exec_errno, sizeof exec_errno);
    close(report[0]);

    /* the state on stdin and stderr out, without blocking on either: a hook that never reads
     * stdin, or fills its stderr, still meets its timeout */
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    static char errbuf[1024];
    size_t errlen = 0, off = 0, len = strlen(state);
    errbuf[0] = '\0';
    long deadline = h->timeout ? now_ms() + (long)h->timeout * 1000 : 0;
    int timed_out = 0;
    struct pollfd fds[2] = { { err[0], POLLIN, 0 }, { in[1], POLLOUT, 0 } };
    if (got == sizeof exec_errno) { close(in[1]); fds[1].fd = -1; }
    while (fds[0].fd >= 0) {
        if (fds[1].fd >= 0 && off == len) { close(in[1]); fds[1].fd = -1; }
        int wait = -1;
        if (deadline && (wait = (int)(deadline - now_ms())) <= 0) { timed_out = 1; break; }
        if (poll(fds, 2, wait) < 0 && errno != EINTR) break;
        if (fds[1].fd >= 0 && fds[1].revents) {
            ssize_t n = write(in[1], state + off, len - off);
            if (n > 0) off += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EINTR) off = len;  /* EPIPE: unread */
        }
        if (fds[0].revents) {
            size_t before = errlen;
            drain(err[0], errbuf, sizeof errbuf, &errlen);
            if ((fds[0].revents & (POLLHUP | POLLERR)) && errlen == before) {
                close(err[0]);  /* stderr closed: the hook exited (or closed it) */
                fds[0].fd = -1;
            }
        }
    }
    if (fds[1].fd >= 0) close(in[1]);
    if (fds[0].fd >= 0) close(err[0]);

    int status = 0;
    if (timed_out) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return fail("%s hook #%d (%s) timed out after %us", kind, index, h->path, h->timeout);
    }
    /* stderr is closed, but a hook may live on after closing it: the timeout still holds */
    for (;;) {
        pid_t r = waitpid(pid, &status, deadline ? WNOHANG : 0);
        if (r == pid) break;
        if (r < 0 && errno != EINTR)
            return fail_errno("%s hook #%d (%s): wait", kind, index, h->path);
        if (r == 0) {
            if (now_ms() >= deadline) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                return fail("%s hook #%d (%s) timed out after %us", kind, index, h->path,
                            h->timeout);
            }
            struct timespec ts = { 0, 5 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    if (got == sizeof exec_errno)
        return fail("%s hook #%d (%s) failed: %s", kind, index, h->path, strerror(exec_errno));
    const char *detail = one_line(errbuf);
    const char *sep = *detail ? ": " : "";
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return fail("%s hook #%d (%s) failed: exit status %d%s%s", kind, index, h->path,
                    WEXITSTATUS(status), sep, detail);
    if (WIFSIGNALED(status))
        return fail("%s hook #%d (%s) failed: signal %d%s%s", kind, index, h->path,
                    WTERMSIG(status), sep, detail);
    return 0;
}

int run_hooks(const char *kind, const struct hooklist *hooks, const char *state_json)
{
    int rc = 0;
    /* a hook that exits without reading its stdin must not kill us with SIGPIPE; restored
     * after, as an ignored signal would stay ignored across the container's execve */
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < hooks->n && rc == 0; i++)
        rc = run_one(kind, i, &hooks->v[i], state_json);
    signal(SIGPIPE, SIG_DFL);
    return rc;
}
