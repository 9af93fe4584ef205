/* createContainer and startContainer hooks, run by the init inside the container's
 * namespaces: fork, state JSON on stdin, execve, wait with the hook's timeout. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "init.h"

extern char **environ;

static int run_one(const char *kind, int index, const struct hook *h, const char *state)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return fail_errno("%s hook #%d (%s): pipe", kind, index, h->path);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]); close(fds[1]);
        return fail_errno("%s hook #%d (%s): fork", kind, index, h->path);
    }
    if (pid == 0) {
        dup2(fds[0], 0);  /* dup2 clears O_CLOEXEC on the new fd 0 */
        char *const *argv = h->args.n ? (char *const *)h->args.v : (char *const[]){ (char *)h->path, NULL };
        execve(h->path, argv, h->inherit_env ? environ : (char *const *)h->env.v);
        _exit(127);
    }
    close(fds[0]);
    /* a hook that does not read its stdin must not block us: ignore EPIPE */
    signal(SIGPIPE, SIG_IGN);
    size_t len = strlen(state);
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fds[1], state + off, len - off);
        if (n <= 0) break;
        off += (size_t)n;
    }
    close(fds[1]);
    signal(SIGPIPE, SIG_DFL);
    int status = 0;
    long waited_ms = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, h->timeout ? WNOHANG : 0);
        if (r == pid) break;
        if (r < 0 && errno != EINTR)
            return fail_errno("%s hook #%d (%s): wait", kind, index, h->path);
        if (r == 0) {
            if (waited_ms >= (long)h->timeout * 1000) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                return fail("%s hook #%d (%s) timed out after %us", kind, index, h->path, h->timeout);
            }
            struct timespec ts = { 0, 5 * 1000 * 1000 };
            nanosleep(&ts, NULL);
            waited_ms += 5;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return fail("%s hook #%d (%s) failed: exit status 127 (could not run it?)", kind, index, h->path);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return fail("%s hook #%d (%s) failed: exit status %d", kind, index, h->path, WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return fail("%s hook #%d (%s) failed: signal %d", kind, index, h->path, WTERMSIG(status));
    return 0;
}

int run_hooks(const char *kind, const struct hooklist *hooks, const char *state_json)
{
    for (int i = 0; i < hooks->n; i++)
        if (run_one(kind, i, &hooks->v[i], state_json) < 0)
            return -1;
    return 0;
}
