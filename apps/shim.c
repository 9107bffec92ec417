/* shim.c - libtapir-shim.so: puts an unmodified program's TCP and UDP sockets on tapir.
 *
 * `tapir run PROGRAM` starts PROGRAM with LD_PRELOAD=libtapir-shim.so, so the calls below
 * reach this file before libc. For an AF_INET stream or datagram socket the shim asks tapir
 * (over a control connection, apps/run_proto.h) to do the work; every other fd (files,
 * pipes, AF_UNIX, IPv6) goes straight on to libc, found with dlsym(RTLD_NEXT, ...).
 *
 * The trick that keeps this file small: the fd the program gets for a tapir socket is a
 * real kernel object, one end of a UNIX socketpair whose other end tapir holds (a stream
 * for TCP; for UDP a SOCK_SEQPACKET pair, one message per datagram: see dgram_send()).
 * Bytes flow through it, so read(), write(), poll(), select() and epoll work on it as on
 * any socket, blocking or not, mixed with the program's other fds; the shim needs no
 * poll() of its own. What a socketpair cannot say by itself, the shim asks tapir:
 * connect, bind, listen, accept, addresses, options, and which error ended a connection
 * (ECONNREFUSED, ECONNRESET, ...), which the shim reports where Linux would.
 *
 * Links only libc (dlsym and pthread are in libc on glibc >= 2.34). Built without
 * sanitizers: it runs inside programs that are not.
 */
#define _GNU_SOURCE
#include "run_proto.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define SHIM_MAX_FD 4096 /* tapir sockets must have an fd below this */

/* the functions the program calls instead of libc's (everything else stays hidden) */
#define shim_public __attribute__((visibility("default")))

/* ---- the real functions, from libc ---------------------------------------------------- */

#define REAL(name, ret, ...)                                                                       \
    static ret (*real_##name)(__VA_ARGS__);                                                        \
    static ret (*get_##name(void))(__VA_ARGS__)                                                    \
    {                                                                                              \
        if (!real_##name)                                                                          \
            real_##name = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name);                            \
        return real_##name;                                                                        \
    }

REAL(socket, int, int, int, int)
REAL(bind, int, int, const struct sockaddr *, socklen_t)
REAL(listen, int, int, int)
REAL(accept, int, int, struct sockaddr *, socklen_t *)
REAL(accept4, int, int, struct sockaddr *, socklen_t *, int)
REAL(connect, int, int, const struct sockaddr *, socklen_t)
REAL(getsockname, int, int, struct sockaddr *, socklen_t *)
REAL(getpeername, int, int, struct sockaddr *, socklen_t *)
REAL(getsockopt, int, int, int, int, void *, socklen_t *)
REAL(setsockopt, int, int, int, int, const void *, socklen_t)
REAL(shutdown, int, int, int)
REAL(close, int, int)
REAL(read, ssize_t, int, void *, size_t)
REAL(readv, ssize_t, int, const struct iovec *, int)
REAL(recv, ssize_t, int, void *, size_t, int)
REAL(recvfrom, ssize_t, int, void *, size_t, int, struct sockaddr *, socklen_t *)
REAL(recvmsg, ssize_t, int, struct msghdr *, int)
REAL(write, ssize_t, int, const void *, size_t)
REAL(writev, ssize_t, int, const struct iovec *, int)
REAL(send, ssize_t, int, const void *, size_t, int)
REAL(sendto, ssize_t, int, const void *, size_t, int, const struct sockaddr *, socklen_t)
REAL(sendmsg, ssize_t, int, const struct msghdr *, int)
REAL(fcntl, int, int, int, ...)
REAL(dup, int, int)
REAL(dup2, int, int, int)
REAL(dup3, int, int, int, int)

/* ---- which fds are tapir sockets ------------------------------------------------------- */

/* fd -> tapir's id, and the inode of our socketpair end: an fd closed behind our back
 * (fclose, close_range) and reused for a file is then not mistaken for a socket. */
static struct {
    uint32_t id;
    ino_t ino;
    bool dgram;     /* a UDP socket: its socketpair is SOCK_SEQPACKET, struct run_dgram first */
    bool connected; /* UDP: connect() set a default peer */
} fds[SHIM_MAX_FD];

static void fd_map(int fd, uint32_t id)
{
    struct stat st;
    if (fd < 0 || fd >= SHIM_MAX_FD || fstat(fd, &st) < 0)
        return;
    fds[fd].ino = st.st_ino;
    fds[fd].id = id;
    fds[fd].dgram = false;
    fds[fd].connected = false;
}

static void fd_unmap(int fd)
{
    if (fd >= 0 && fd < SHIM_MAX_FD)
        fds[fd].id = 0;
}

/* tapir's id for fd, or 0 when fd is not a tapir socket (the common, cheap case). */
static uint32_t fd_id(int fd)
{
    if (fd < 0 || fd >= SHIM_MAX_FD || !fds[fd].id)
        return 0;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_ino != fds[fd].ino) {
        fds[fd].id = 0;
        return 0;
    }
    return fds[fd].id;
}

/* ---- the control connection -------------------------------------------------------------- */

static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static int ctl_fd = -1;
static pid_t ctl_pid; /* a forked child opens its own: replies must not cross */

static bool shim_enabled(void)
{
    return getenv(RUN_ENV_SOCKET) != NULL;
}

static int ctl_open(void)
{
    const char *name = getenv(RUN_ENV_SOCKET);
    if (!name)
        return -ENOSYS;
    if (ctl_fd >= 0 && ctl_pid == getpid())
        return 0;
    if (ctl_fd >= 0)
        get_close()(ctl_fd); /* the parent's, inherited over fork */
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    if (len + 1 > sizeof(sun.sun_path))
        return -ENAMETOOLONG;
    memcpy(sun.sun_path + 1, name, len); /* abstract: sun_path[0] == 0 */
    int fd = get_socket()(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (get_connect()(fd, (struct sockaddr *)&sun,
                      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len)) < 0) {
        int err = -errno;
        get_close()(fd);
        return err;
    }
    ctl_fd = fd;
    ctl_pid = getpid();
    return 0;
}

/* Send one request (with an fd attached when send_fd >= 0) and read its reply (with the
 * fd tapir attached in *recv_fd). Returns the reply's ret, or -errno if tapir is gone. */
static int ctl_call(struct run_msg *m, int send_fd, int *recv_fd, int recv_flags)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } cbuf;
    pthread_mutex_lock(&ctl_lock);
    int err = ctl_open();
    if (err < 0) {
        pthread_mutex_unlock(&ctl_lock);
        return err == -ENOSYS ? -ENOSYS : -ENETDOWN;
    }
    struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (send_fd >= 0) {
        memset(&cbuf, 0, sizeof(cbuf));
        mh.msg_control = cbuf.buf;
        mh.msg_controllen = sizeof(cbuf.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &send_fd, sizeof(int));
    }
    ssize_t n = get_sendmsg()(ctl_fd, &mh, MSG_NOSIGNAL);
    if (n == (ssize_t)sizeof(*m)) {
        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = cbuf.buf;
        mh.msg_controllen = sizeof(cbuf.buf);
        do
            n = get_recvmsg()(ctl_fd, &mh, recv_flags);
        while (n < 0 && errno == EINTR);
    }
    pthread_mutex_unlock(&ctl_lock);
    if (n != (ssize_t)sizeof(*m))
        return -ENETDOWN; /* tapir is gone: the network is down */
    if (recv_fd) {
        *recv_fd = -1;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(recv_fd, CMSG_DATA(c), sizeof(int));
    }
    return m->ret;
}

/* A request about socket `id` (program fd `fd`) that needs no fds. */
static int ctl(int op, uint32_t id, int fd, int arg, struct run_msg *out)
{
    struct run_msg m = {.op = op, .id = id, .fd = fd, .arg = arg};
    if (out) {
        m.val = out->val;
        m.ip = out->ip;
        m.port = out->port;
    }
    int r = ctl_call(&m, -1, NULL, 0);
    if (out)
        *out = m;
    return r;
}

/* Linux's way of saying "failed": -1 and errno. */
static int fail(int err)
{
    errno = err < 0 ? -err : err;
    return -1;
}

/* The error that ended the connection, if one is waiting (consumed, as SO_ERROR does). */
static int take_error(uint32_t id, int fd)
{
    int saved = errno;
    int r = ctl(RUN_STATUS, id, fd, 1, NULL);
    errno = saved;
    return r < 0 ? r : 0;
}

static bool is_nonblocking(int fd)
{
    int fl = get_fcntl()(fd, F_GETFL);
    return fl >= 0 && (fl & O_NONBLOCK);
}

/* Wait (blocking calls only) until fd has `events`; 0, or -EINTR like the kernel. */
static int wait_for(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    for (;;) {
        int r = poll(&p, 1, -1);
        if (r > 0)
            return 0;
        if (r < 0)
            return -errno;
    }
}

/* ---- addresses ------------------------------------------------------------------------------ */

static int from_sockaddr(const struct sockaddr *sa, socklen_t len, uint32_t *ip, uint16_t *port)
{
    if (!sa || len < (socklen_t)sizeof(struct sockaddr_in))
        return -EINVAL;
    if (sa->sa_family != AF_INET)
        return -EAFNOSUPPORT;
    struct sockaddr_in sin;
    memcpy(&sin, sa, sizeof(sin));
    *ip = ntohl(sin.sin_addr.s_addr);
    *port = ntohs(sin.sin_port);
    return 0;
}

/* Fill a caller's sockaddr as the kernel does: truncated to its size, true size back. */
static void to_sockaddr(struct sockaddr *sa, socklen_t *len, uint32_t ip, uint16_t port)
{
    if (!sa || !len)
        return;
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(ip);
    sin.sin_port = htons(port);
    memcpy(sa, &sin, *len < sizeof(sin) ? *len : sizeof(sin));
    *len = sizeof(sin);
}

/* ---- socket, bind, listen, connect, accept ------------------------------------------------- */

/* Fill our end's send buffer so poll() says "not writable" until tapir reads it away when
 * the handshake completes (run_proto.h). Returns how many bytes went in. */
static int plug(int fd)
{
    static const char zeros[4096];
    int total = 0;
    for (int i = 0; i < 4096; i++) { /* bounded: a send buffer is at most a few MB */
        ssize_t n = get_send()(fd, zeros, sizeof(zeros), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n <= 0)
            break;
        total += (int)n;
    }
    return total;
}

static int tapir_socket(int type, bool dgram)
{
    int sv[2];
    if (socketpair(AF_UNIX, (dgram ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    if (sv[0] >= SHIM_MAX_FD) {
        get_close()(sv[0]);
        get_close()(sv[1]);
        return fail(EMFILE);
    }
    /* a UDP socket is writable at once: no plug */
    struct run_msg m = {.op = RUN_SOCKET,
                        .fd = sv[0],
                        .arg = dgram ? 0 : plug(sv[0]),
                        .val = dgram ? SOCK_DGRAM : 0};
    int r = ctl_call(&m, sv[1], NULL, 0);
    get_close()(sv[1]);
    if (r < 0) {
        get_close()(sv[0]);
        return fail(r == -ENETDOWN ? ENOBUFS : -r);
    }
    if (!(type & SOCK_CLOEXEC))
        get_fcntl()(sv[0], F_SETFD, 0);
    if (type & SOCK_NONBLOCK)
        get_fcntl()(sv[0], F_SETFL, O_NONBLOCK | O_RDWR);
    fd_map(sv[0], (uint32_t)r);
    fds[sv[0]].dgram = dgram;
    return sv[0];
}

shim_public int socket(int domain, int type, int protocol)
{
    int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (domain == AF_INET && kind == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP) &&
        shim_enabled())
        return tapir_socket(type, false);
    if (domain == AF_INET && kind == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP) &&
        shim_enabled())
        return tapir_socket(type, true);
    return get_socket()(domain, type, protocol);
}

shim_public int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_bind()(fd, sa, len);
    struct run_msg m = {0};
    int r = from_sockaddr(sa, len, &m.ip, &m.port);
    if (r == 0)
        r = ctl(RUN_BIND, id, fd, 0, &m);
    return r < 0 ? fail(r) : 0;
}

shim_public int listen(int fd, int backlog)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_listen()(fd, backlog);
    int r = ctl(RUN_LISTEN, id, fd, backlog, NULL);
    return r < 0 ? fail(r) : 0;
}

shim_public int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_connect()(fd, sa, len);
    struct run_msg m = {0};
    int r = from_sockaddr(sa, len, &m.ip, &m.port);
    if (r == 0)
        r = ctl(RUN_CONNECT, id, fd, 0, &m);
    if (r == 0 && fds[fd].dgram)
        fds[fd].connected = true; /* UDP: send() and write() may leave out the address */
    if (r != -EINPROGRESS)
        return r < 0 ? fail(r) : 0;
    if (is_nonblocking(fd))
        return fail(EINPROGRESS);
    /* A blocking connect: our end turns writable when the handshake is over, either way. */
    if ((r = wait_for(fd, POLLOUT)) < 0)
        return fail(r);
    r = take_error(id, fd);
    return r < 0 ? fail(r) : 0;
}

static int tapir_accept(int fd, uint32_t id, struct sockaddr *sa, socklen_t *len, int flags)
{
    for (;;) {
        struct run_msg m = {.op = RUN_ACCEPT, .id = id, .fd = fd};
        int newfd = -1;
        int r = ctl_call(&m, -1, &newfd, (flags & SOCK_CLOEXEC) ? MSG_CMSG_CLOEXEC : 0);
        if (r >= 0 && newfd >= 0) {
            char one;
            get_recv()(fd, &one, 1, MSG_DONTWAIT); /* the listener's "one waits" byte */
            if (newfd >= SHIM_MAX_FD) {
                get_close()(newfd);
                return fail(EMFILE);
            }
            if (flags & SOCK_NONBLOCK)
                get_fcntl()(newfd, F_SETFL, O_NONBLOCK | O_RDWR);
            fd_map(newfd, (uint32_t)r);
            to_sockaddr(sa, len, m.ip, m.port);
            ctl(RUN_STATUS, (uint32_t)r, newfd, 0, NULL); /* tells the trace its fd number */
            return newfd;
        }
        if (r != -EAGAIN)
            return fail(r < 0 ? r : -EIO);
        if (is_nonblocking(fd))
            return fail(EAGAIN);
        if ((r = wait_for(fd, POLLIN)) < 0) /* tapir writes a byte per waiting connection */
            return fail(r);
    }
}

shim_public int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_accept4()(fd, sa, len, flags);
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
        return fail(EINVAL);
    return tapir_accept(fd, id, sa, len, flags);
}

shim_public int accept(int fd, struct sockaddr *sa, socklen_t *len)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_accept()(fd, sa, len);
    return tapir_accept(fd, id, sa, len, 0);
}

/* ---- names and options --------------------------------------------------------------------- */

static int tapir_name(int fd, uint32_t id, int which, struct sockaddr *sa, socklen_t *len)
{
    struct run_msg m = {0};
    int r = ctl(RUN_NAME, id, fd, which, &m);
    if (r < 0)
        return fail(r);
    to_sockaddr(sa, len, m.ip, m.port);
    return 0;
}

shim_public int getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
    uint32_t id = fd_id(fd);
    return id ? tapir_name(fd, id, 0, sa, len) : get_getsockname()(fd, sa, len);
}

shim_public int getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
    uint32_t id = fd_id(fd);
    return id ? tapir_name(fd, id, 1, sa, len) : get_getpeername()(fd, sa, len);
}

/* The options tapir keeps; -1 for the others (ENOPROTOOPT, as Linux says for unknown). */
static int option_of(int level, int name)
{
    if (level == IPPROTO_TCP && name == TCP_NODELAY)
        return RUN_OPT_NODELAY;
    if (level != SOL_SOCKET)
        return -1;
    switch (name) {
    case SO_SNDBUF:
        return RUN_OPT_SNDBUF;
    case SO_RCVBUF:
        return RUN_OPT_RCVBUF;
    case SO_REUSEADDR:
        return RUN_OPT_REUSEADDR;
    case SO_REUSEPORT:
        return RUN_OPT_REUSEPORT;
    case SO_LINGER:
        return RUN_OPT_LINGER;
    }
    return -1;
}

shim_public int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_setsockopt()(fd, level, name, val, len);
    /* Timeouts belong to the fd the program blocks on: our end of the socketpair. */
    if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO))
        return get_setsockopt()(fd, level, name, val, len);
    int opt = option_of(level, name);
    if (opt < 0 || (fds[fd].dgram && opt == RUN_OPT_NODELAY))
        return fail(ENOPROTOOPT);
    struct run_msg m = {0};
    if (opt == RUN_OPT_LINGER) {
        struct linger l;
        if (!val || len < sizeof(l))
            return fail(EINVAL);
        memcpy(&l, val, sizeof(l));
        m.val = l.l_onoff ? l.l_linger : -1;
    } else {
        if (!val || len < sizeof(int))
            return fail(EINVAL);
        memcpy(&m.val, val, sizeof(int));
    }
    int r = ctl(RUN_SETOPT, id, fd, opt, &m);
    return r < 0 ? fail(r) : 0;
}

static int put_int(void *val, socklen_t *len, int v)
{
    if (!val || !len || (int)*len < 0)
        return fail(EINVAL);
    socklen_t n = *len < sizeof(int) ? *len : sizeof(int);
    memcpy(val, &v, n);
    *len = n;
    return 0;
}

shim_public int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_getsockopt()(fd, level, name, val, len);
    if (level == SOL_SOCKET) {
        struct run_msg m = {0};
        int r;
        switch (name) {
        case SO_ERROR:
            r = ctl(RUN_STATUS, id, fd, 1, NULL);
            return put_int(val, len, r < 0 ? -r : 0);
        case SO_TYPE:
            return put_int(val, len, fds[fd].dgram ? SOCK_DGRAM : SOCK_STREAM);
        case SO_DOMAIN:
            return put_int(val, len, AF_INET);
        case SO_PROTOCOL:
            return put_int(val, len, fds[fd].dgram ? IPPROTO_UDP : IPPROTO_TCP);
        case SO_ACCEPTCONN:
            ctl(RUN_STATUS, id, fd, 0, &m);
            return put_int(val, len, (m.val & RUN_ST_LISTENING) != 0);
        case SO_RCVTIMEO:
        case SO_SNDTIMEO:
            return get_getsockopt()(fd, level, name, val, len);
        }
    }
    int opt = option_of(level, name);
    if (opt < 0)
        return fail(ENOPROTOOPT);
    struct run_msg m = {0};
    int r = ctl(RUN_GETOPT, id, fd, opt, &m);
    if (r < 0)
        return fail(r);
    if (opt != RUN_OPT_LINGER)
        return put_int(val, len, m.val);
    struct linger l = {.l_onoff = m.val >= 0, .l_linger = m.val >= 0 ? m.val : 0};
    if (!val || !len || *len < sizeof(l))
        return fail(EINVAL);
    memcpy(val, &l, sizeof(l));
    *len = sizeof(l);
    return 0;
}

shim_public int shutdown(int fd, int how)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_shutdown()(fd, how);
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return fail(EINVAL);
    int r = ctl(RUN_SHUTDOWN, id, fd, how, NULL);
    if (r < 0)
        return fail(r);
    /* The end of our writes reaches tapir in order, after the bytes before it: FIN. */
    return get_shutdown()(fd, how);
}

/* ---- the data path: the socketpair carries the bytes -------------------------------------- */

/* A receive ended (0 = end of stream, or a socketpair error): did tapir's connection end
 * with an error (RST, timeout)? Then that is what Linux reports, once. */
static ssize_t after_recv(int fd, uint32_t id, ssize_t n, size_t want)
{
    if (n > 0 || want == 0)
        return n;
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return n;
    int err = take_error(id, fd);
    if (err < 0)
        return fail(err);
    if (n < 0 && errno == ECONNRESET) /* only the socketpair's doing: end of stream */
        return 0;
    return n;
}

/* A send failed with EPIPE (tapir's end is closed: the connection is over). Linux reports
 * the connection's error first (ECONNRESET after a RST), then EPIPE with SIGPIPE. */
static ssize_t after_send(int fd, uint32_t id, ssize_t n, int flags)
{
    if (n >= 0 || errno != EPIPE)
        return n;
    int err = take_error(id, fd);
    if (err < 0)
        return fail(err);
    if (!(flags & MSG_NOSIGNAL))
        raise(SIGPIPE);
    return fail(EPIPE);
}

static size_t iov_total(const struct iovec *iov, int n)
{
    size_t t = 0;
    for (int i = 0; iov && i < n; i++)
        t += iov[i].iov_len;
    return t;
}

/* ---- the data path of a UDP socket: one SEQPACKET message per datagram ------------------- */

#define DGRAM_MAX_IOV 1024  /* IOV_MAX */
#define UDP_MAX_DATA  65507 /* 65535 - IP header - UDP header */

/* An error message (run_proto.h) at the head of fd's queue: taken, and its error (if
 * SO_ERROR did not take it first) returned; else 0. As Linux's send() reports the error of
 * a connected UDP socket before sending. */
static int dgram_error_first(int fd)
{
    struct run_dgram h = {0};
    if (get_recv()(fd, &h, sizeof(h), MSG_PEEK | MSG_DONTWAIT) < (ssize_t)sizeof(h) || !h.err)
        return 0;
    get_recv()(fd, &h, sizeof(h), MSG_DONTWAIT);
    return take_error(fds[fd].id, fd);
}

/* One datagram to `sa` (NULL: the connected peer), from iov, as sendmsg(2) on UDP. */
static ssize_t dgram_send(int fd, const struct iovec *iov, size_t n, int flags,
                          const struct sockaddr *sa, socklen_t salen)
{
    struct run_dgram h = {0};
    if (sa) {
        int r = from_sockaddr(sa, salen, &h.ip, &h.port);
        if (r < 0)
            return fail(r);
        if (!h.port)
            return fail(EINVAL); /* Linux refuses to send to port 0 */
    } else if (!fds[fd].connected) {
        return fail(EDESTADDRREQ);
    }
    if (fds[fd].connected) { /* an ICMP error waiting at the head fails this send, once */
        int err = dgram_error_first(fd);
        if (err < 0)
            return fail(err);
    }
    if (n > DGRAM_MAX_IOV)
        return fail(EMSGSIZE);
    size_t len = iov_total(iov, (int)n);
    if (len > UDP_MAX_DATA)
        return fail(EMSGSIZE);
    struct iovec v[DGRAM_MAX_IOV + 1] = {{.iov_base = &h, .iov_len = sizeof(h)}};
    if (n)
        memcpy(v + 1, iov, n * sizeof(*iov));
    struct msghdr m = {.msg_iov = v, .msg_iovlen = n + 1};
    ssize_t sent = get_sendmsg()(fd, &m, flags | MSG_NOSIGNAL);
    if (sent < 0)
        return errno == EPIPE ? fail(ENETDOWN) : -1; /* EPIPE: tapir has gone */
    return sent - (ssize_t)sizeof(h);
}

/* One datagram into iov and its source into sa, as recvmsg(2) on UDP; *msg_flags gets
 * MSG_TRUNC when the datagram was longer than iov (with MSG_TRUNC in flags the return is
 * its full length, as Linux's). An ICMP error on a connected socket comes as a message of
 * its own (run_proto.h): the error is returned once, instead of a datagram. */
static ssize_t dgram_recv(int fd, uint32_t id, const struct iovec *iov, size_t n, int flags,
                          struct sockaddr *sa, socklen_t *salen, int *msg_flags)
{
    if (n > DGRAM_MAX_IOV)
        return fail(EMSGSIZE);
    for (int i = 0; i < 64; i++) { /* each round takes an error message away */
        struct run_dgram h = {0};
        struct iovec v[DGRAM_MAX_IOV + 1] = {{.iov_base = &h, .iov_len = sizeof(h)}};
        if (n)
            memcpy(v + 1, iov, n * sizeof(*iov));
        struct msghdr m = {.msg_iov = v, .msg_iovlen = n + 1};
        ssize_t got = get_recvmsg()(fd, &m, flags);
        if (got < 0)
            return -1; /* EAGAIN, EINTR, a timeout: the kernel's answer on our end */
        if (got < (ssize_t)sizeof(h))
            return fail(ENETDOWN); /* the end of the pair: tapir has gone */
        if (h.err) {
            if (flags & MSG_PEEK) /* an error is taken even by a peek, as on Linux */
                get_recv()(fd, &h, sizeof(h), MSG_DONTWAIT);
            int err = take_error(id, fd);
            if (err < 0)
                return fail(err);
            continue; /* SO_ERROR took it already */
        }
        to_sockaddr(sa, salen, h.ip, h.port);
        if (msg_flags)
            *msg_flags = m.msg_flags;
        return got - (ssize_t)sizeof(h);
    }
    return fail(EAGAIN);
}

shim_public ssize_t read(int fd, void *buf, size_t len)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_read()(fd, buf, len);
    struct iovec v = {buf, len};
    if (fds[fd].dgram)
        return dgram_recv(fd, id, &v, 1, 0, NULL, NULL, NULL);
    return after_recv(fd, id, get_recv()(fd, buf, len, 0), len);
}

shim_public ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_recv()(fd, buf, len, flags);
    struct iovec v = {buf, len};
    if (fds[fd].dgram)
        return dgram_recv(fd, id, &v, 1, flags, NULL, NULL, NULL);
    return after_recv(fd, id, get_recv()(fd, buf, len, flags), len);
}

shim_public ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *sa,
                             socklen_t *salen)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_recvfrom()(fd, buf, len, flags, sa, salen);
    struct iovec v = {buf, len};
    if (fds[fd].dgram)
        return dgram_recv(fd, id, &v, 1, flags, sa, salen, NULL);
    if (salen)
        *salen = 0; /* TCP names no sender, as on Linux */
    return after_recv(fd, id, get_recv()(fd, buf, len, flags), len);
}

shim_public ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_recvmsg()(fd, msg, flags);
    if (fds[fd].dgram) {
        msg->msg_controllen = 0; /* no ancillary data here */
        return dgram_recv(fd, id, msg->msg_iov, msg->msg_iovlen, flags, msg->msg_name,
                          msg->msg_name ? &msg->msg_namelen : NULL, &msg->msg_flags);
    }
    struct msghdr m = *msg;
    m.msg_name = NULL;
    m.msg_namelen = 0;
    m.msg_control = NULL; /* no ancillary data on TCP here */
    m.msg_controllen = 0;
    ssize_t n = get_recvmsg()(fd, &m, flags);
    msg->msg_namelen = 0;
    msg->msg_controllen = 0;
    msg->msg_flags = m.msg_flags;
    return after_recv(fd, id, n, iov_total(msg->msg_iov, (int)msg->msg_iovlen));
}

shim_public ssize_t readv(int fd, const struct iovec *iov, int n)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_readv()(fd, iov, n);
    if (fds[fd].dgram)
        return n < 0 ? fail(EINVAL) : dgram_recv(fd, id, iov, (size_t)n, 0, NULL, NULL, NULL);
    return after_recv(fd, id, get_readv()(fd, iov, n), iov_total(iov, n));
}

shim_public ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_send()(fd, buf, len, flags);
    struct iovec v = {(void *)buf, len};
    if (fds[fd].dgram)
        return dgram_send(fd, &v, 1, flags, NULL, 0);
    return after_send(fd, id, get_send()(fd, buf, len, flags | MSG_NOSIGNAL), flags);
}

shim_public ssize_t sendto(int fd, const void *buf, size_t len, int flags,
                           const struct sockaddr *sa, socklen_t salen)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_sendto()(fd, buf, len, flags, sa, salen);
    struct iovec v = {(void *)buf, len};
    if (fds[fd].dgram)
        return dgram_send(fd, &v, 1, flags, sa, salen);
    /* a connected TCP socket ignores the address, as Linux's does */
    return after_send(fd, id, get_send()(fd, buf, len, flags | MSG_NOSIGNAL), flags);
}

shim_public ssize_t write(int fd, const void *buf, size_t len)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_write()(fd, buf, len);
    struct iovec v = {(void *)buf, len};
    if (fds[fd].dgram)
        return dgram_send(fd, &v, 1, 0, NULL, 0);
    return after_send(fd, id, get_send()(fd, buf, len, MSG_NOSIGNAL), 0);
}

static ssize_t send_iov(int fd, uint32_t id, const struct iovec *iov, int n, int flags)
{
    struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
    return after_send(fd, id, get_sendmsg()(fd, &m, flags | MSG_NOSIGNAL), flags);
}

shim_public ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_sendmsg()(fd, msg, flags);
    if (fds[fd].dgram)
        return dgram_send(fd, msg->msg_iov, msg->msg_iovlen, flags, msg->msg_name,
                          msg->msg_namelen);
    return send_iov(fd, id, msg->msg_iov, (int)msg->msg_iovlen, flags);
}

shim_public ssize_t writev(int fd, const struct iovec *iov, int n)
{
    uint32_t id = fd_id(fd);
    if (!id)
        return get_writev()(fd, iov, n);
    if (fds[fd].dgram)
        return n < 0 ? fail(EINVAL) : dgram_send(fd, iov, (size_t)n, 0, NULL, 0);
    return send_iov(fd, id, iov, n, 0);
}

/* ---- fds: close and the copies of one --------------------------------------------------- */

/* tapir sees the end of the socket when the last copy of the fd closes (its end hangs
 * up), in this process or any other: no message needed, and a crash closes it too. */
shim_public int close(int fd)
{
    fd_unmap(fd);
    return get_close()(fd);
}

static int copied(int oldfd, int newfd)
{
    uint32_t id = fd_id(oldfd);
    if (newfd >= 0) {
        fd_unmap(newfd);
        if (id) {
            fd_map(newfd, id);
            fds[newfd].dgram = fds[oldfd].dgram;
            fds[newfd].connected = fds[oldfd].connected;
        }
    }
    return newfd;
}

shim_public int dup(int fd)
{
    return copied(fd, get_dup()(fd));
}

shim_public int dup2(int fd, int newfd)
{
    return copied(fd, get_dup2()(fd, newfd));
}

shim_public int dup3(int fd, int newfd, int flags)
{
    return copied(fd, get_dup3()(fd, newfd, flags));
}

static int tapir_fcntl(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
    int r = real(fd, cmd, arg);
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
        return copied(fd, r);
    return r; /* O_NONBLOCK and the rest: the kernel's, on our end of the socketpair */
}

shim_public int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *); /* as glibc does: one word, whatever the command */
    va_end(ap);
    return tapir_fcntl(get_fcntl(), fd, cmd, arg);
}

shim_public int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return tapir_fcntl(get_fcntl(), fd, cmd, arg);
}
