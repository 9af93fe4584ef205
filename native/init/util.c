/* Error reporting, small file helpers and the plan parser. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "init.h"

char init_err[512];

int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(init_err, sizeof init_err, fmt, ap);
    va_end(ap);
    return -1;
}

int fail_errno(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(init_err, sizeof init_err, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof init_err)
        snprintf(init_err + n, sizeof init_err - n, ": %s", strerror(saved));
    errno = saved;
    return -1;
}

int write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return fail_errno("open %s", path);
    ssize_t n = write(fd, data, len);
    int saved = errno;
    close(fd);
    errno = saved;
    if (n != (ssize_t)len)
        return fail_errno("write %s", path);
    return 0;
}

/* A cursor over one record's payload. */
struct cur { const uint8_t *p, *end; int bad; };

static uint32_t u32(struct cur *c)
{
    uint32_t v = 0;
    if (c->end - c->p < 4) { c->bad = 1; return 0; }
    memcpy(&v, c->p, 4);
    c->p += 4;
    return v;
}

static uint64_t u64(struct cur *c)
{
    uint64_t v = 0;
    if (c->end - c->p < 8) { c->bad = 1; return 0; }
    memcpy(&v, c->p, 8);
    c->p += 8;
    return v;
}

static const char *str(struct cur *c)
{
    const uint8_t *nul = c->p < c->end ? memchr(c->p, 0, c->end - c->p) : NULL;
    if (!nul) { c->bad = 1; return ""; }
    const char *s = (const char *)c->p;
    c->p = nul + 1;
    return s;
}

static int push(struct strlist *l, const char *s)
{
    if (l->n >= MAX_ITEMS)
        return fail("plan: too many items");
    l->v[l->n++] = s;
    l->v[l->n] = NULL;
    return 0;
}

static int parse_hook(struct hooklist *hl, struct cur *c)
{
    if (hl->n >= 32)
        return fail("plan: too many hooks");
    struct hook *h = &hl->v[hl->n++];
    h->timeout = u32(c);
    uint32_t nargs = u32(c), nenv = u32(c);
    h->path = str(c);
    for (uint32_t i = 0; i < nargs && !c->bad; i++)
        if (push(&h->args, str(c)) < 0) return -1;
    h->inherit_env = nenv == UINT32_MAX;
    for (uint32_t i = 0; !h->inherit_env && i < nenv && !c->bad; i++)
        if (push(&h->env, str(c)) < 0) return -1;
    return 0;
}

int parse_plan(struct plan *p, const uint8_t *buf, size_t len)
{
    memset(p, 0, sizeof *p);
    p->umask = UINT32_MAX;
    if (len < 8 || memcmp(buf, PLAN_MAGIC, 4) != 0)
        return fail("plan: bad header");
    const uint8_t *at = buf + 8, *end = buf + len;
    while (at < end) {
        if (end - at < 8)
            return fail("plan: truncated record");
        uint32_t tag, rlen;
        memcpy(&tag, at, 4);
        memcpy(&rlen, at + 4, 4);
        at += 8;
        if ((size_t)(end - at) < rlen)
            return fail("plan: truncated record 0x%x", tag);
        struct cur c = { at, at + rlen, 0 };
        at += rlen;
        int rc = 0;
        switch (tag) {
        case T_NS_NEW: p->ns_new |= u32(&c); break;
        case T_NS_JOIN:
            if (p->n_join >= 16) return fail("plan: too many namespaces");
            p->ns_join[p->n_join].flag = u32(&c);
            p->ns_join[p->n_join++].path = str(&c);
            break;
        case T_HOSTNAME: p->hostname = str(&c); break;
        case T_DOMAINNAME: p->domainname = str(&c); break;
        case T_HOOK_CREATE_CONTAINER: rc = parse_hook(&p->create_container, &c); break;
        case T_HOOK_START_CONTAINER: rc = parse_hook(&p->start_container, &c); break;
        case T_TERMINAL: p->terminal = u32(&c); break;
        case T_PRESERVE_FDS: p->preserve_fds = u32(&c); break;
        case T_TIME_OFFSETS: p->time_offsets = str(&c); break;
        case T_NEW_KEYRING: p->new_keyring = u32(&c); break;
        case T_USERNS_MAPS: p->userns_maps = u32(&c); break;
        case T_EXEC: p->exec_mode = 1; p->exec_ns = u32(&c); break;
        case T_CGROUP_TASKS: rc = push(&p->cgroup_tasks, str(&c)); break;
        case T_CGROUP2_DIR: p->cgroup2_dir = str(&c); break;
        case T_ROOTFS: p->rootfs = str(&c); break;
        case T_ROOTFS_PROPAGATION: p->rootfs_propagation = u32(&c); break;
        case T_MOUNT: {
            if (p->n_mounts >= MAX_ITEMS) return fail("plan: too many mounts");
            struct mount_entry *m = &p->mounts[p->n_mounts++];
            m->flags = u32(&c); m->propagation = u32(&c); m->kind = u32(&c);
            m->source = str(&c); m->dest = str(&c); m->fstype = str(&c); m->data = str(&c);
            break;
        }
        case T_MASKED_PATH: rc = push(&p->masked, str(&c)); break;
        case T_READONLY_PATH: rc = push(&p->readonly, str(&c)); break;
        case T_ROOT_READONLY: p->root_readonly = u32(&c); break;
        case T_SYSCTL:
            if (p->n_sysctl >= MAX_ITEMS) return fail("plan: too many sysctls");
            p->sysctl[p->n_sysctl].key = str(&c);
            p->sysctl[p->n_sysctl++].value = str(&c);
            break;
        case T_DEVICE: {
            if (p->n_devices >= MAX_ITEMS) return fail("plan: too many devices");
            struct device *d = &p->devices[p->n_devices++];
            d->mode = u32(&c); d->major = u32(&c); d->minor = u32(&c);
            d->uid = u32(&c); d->gid = u32(&c); d->path = str(&c);
            break;
        }
        case T_NO_PIVOT: p->no_pivot = u32(&c); break;
        case T_DEFAULT_DEVICES: p->default_devices = u32(&c); break;
        case T_BIND_DEVICES: p->bind_devices = u32(&c); break;
        case T_ARG: rc = push(&p->args, str(&c)); break;
        case T_ENV: rc = push(&p->env, str(&c)); break;
        case T_CWD: p->cwd = str(&c); break;
        case T_USER: p->uid = u32(&c); p->gid = u32(&c); p->umask = u32(&c); break;
        case T_ADDITIONAL_GID:
            if (p->n_gids >= MAX_ITEMS) return fail("plan: too many groups");
            p->additional_gids[p->n_gids++] = u32(&c);
            break;
        case T_CAPS:
            p->has_caps = 1;
            for (int i = 0; i < 5; i++) p->caps[i] = u64(&c);
            break;
        case T_RLIMIT:
            if (p->n_rlimits >= 64) return fail("plan: too many rlimits");
            p->rlimits[p->n_rlimits].resource = u32(&c);
            p->rlimits[p->n_rlimits].soft = u64(&c);
            p->rlimits[p->n_rlimits++].hard = u64(&c);
            break;
        case T_NO_NEW_PRIVS: p->no_new_privs = u32(&c); break;
        case T_SCHEDULER: p->sched_attr = c.p; p->sched_len = rlen; break;
        case T_IOPRIO: p->has_ioprio = 1; p->ioprio = u32(&c); break;
        case T_PERSONALITY: p->has_personality = 1; p->personality = u32(&c); break;
        case T_LSM_EXEC: p->lsm_file = str(&c); p->lsm_label = str(&c); break;
        case T_SECCOMP:
            p->seccomp_flags = u32(&c);
            p->seccomp_prog = c.p;
            p->seccomp_len = (uint32_t)(c.end - c.p);
            break;
        default:
            return fail("plan: unknown record 0x%x", tag);
        }
        if (rc < 0)
            return -1;
        if (c.bad)
            return fail("plan: malformed record 0x%x", tag);
    }
    if ((!p->rootfs && !p->exec_mode) || p->args.n == 0)
        return fail("plan: no rootfs or no process args");
    return 0;
}
