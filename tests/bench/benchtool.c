/* benchtool.c - the measuring side of `make bench`. It runs on the KERNEL side (plain Linux
 * sockets), or reads the TAP device directly to find the link's ceiling. Not part of tapir.
 *
 *   benchtool tapread TAP SECONDS             read frames from TAP as fast as possible
 *   benchtool flood DST PORT PAYLOAD SECONDS  send UDP datagrams as fast as possible
 *   benchtool rtt DST PORT COUNT              TCP echo round trips of 64 bytes (prints µs)
 *   benchtool cps DST PORT SECONDS [MAX]      TCP connect + close, as many as possible
 *                                             (at most MAX connections, if given)
 *   benchtool send DST PORT MBYTES            TCP bulk send, prints Mbit/s
 *   benchtool sink PORT                       accept one TCP connection, read to EOF, print Mbit/s
 *   benchtool echod PORT                      TCP echo server for the kernel-to-kernel reference
 *   benchtool hold DST PORT COUNT             open COUNT TCP connections to an echo server,
 *                                             echo one byte on each, then hold them open
 *                                             (idle) until killed
 *
 * Results are printed as "key=value" lines for bench.sh to pick up.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static struct sockaddr_in addr_of(const char *ip, const char *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
        fprintf(stderr, "bad address %s\n", ip);
        exit(2);
    }
    return sa;
}

static int tapread(const char *name, double seconds)
{
    int fd = open("/dev/net/tun", O_RDWR);
    if (fd < 0)
        die("open /dev/net/tun");
    struct ifreq ifr = {0};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0)
        die("TUNSETIFF");
    printf("ready=1\n");
    fflush(stdout);
    static uint8_t buf[65536];
    uint64_t frames = 0, bytes = 0;
    double start = 0, end = now_s() + seconds + 30; /* wait up to 30 s for the first frame */
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (now_s() < end) {
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            continue;
        if (!start) {
            start = now_s();
            end = start + seconds;
        }
        frames++;
        bytes += (uint64_t)n;
    }
    double t = start ? now_s() - start : 1;
    printf("frames_per_s=%.0f\nmbit_per_s=%.1f\n", frames / t, bytes * 8 / t / 1e6);
    return 0;
}

static int flood(const char *ip, const char *port, int payload, double seconds)
{
    struct sockaddr_in sa = addr_of(ip, port);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("udp socket");
    static char buf[65536];
    struct mmsghdr msgs[64];
    struct iovec iov = {.iov_base = buf, .iov_len = (size_t)payload};
    for (int i = 0; i < 64; i++)
        msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}};
    double end = now_s() + seconds;
    uint64_t sent = 0;
    while (now_s() < end) {
        int n = sendmmsg(fd, msgs, 64, 0);
        if (n > 0)
            sent += (uint64_t)n;
    }
    printf("sent=%llu\n", (unsigned long long)sent);
    return 0;
}

static int tcp_connect(struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    if (connect(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0)
        die("connect");
    return fd;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int rtt(const char *ip, const char *port, int count)
{
    struct sockaddr_in sa = addr_of(ip, port);
    int fd = tcp_connect(&sa);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char msg[64] = "tapir bench round trip", back[64];
    double *samples = calloc((size_t)count, sizeof(double));
    for (int i = 0; i < count; i++) {
        double t0 = now_s();
        if (write(fd, msg, sizeof(msg)) != sizeof(msg))
            die("write");
        size_t got = 0;
        while (got < sizeof(back)) {
            ssize_t n = read(fd, back + got, sizeof(back) - got);
            if (n <= 0)
                die("read");
            got += (size_t)n;
        }
        samples[i] = (now_s() - t0) * 1e6;
    }
    qsort(samples, (size_t)count, sizeof(double), cmp_double);
    printf("median_us=%.1f\np99_us=%.1f\n", samples[count / 2], samples[count * 99 / 100]);
    close(fd);
    free(samples);
    return 0;
}

/* Room for `n` descriptors (root may raise the hard limit too). */
static void raise_nofile(rlim_t n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n) {
        rl.rlim_cur = n;
        if (rl.rlim_max < n)
            rl.rlim_max = n;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Open `count` connections one after the other (so no listener backlog overflows), check
 * each echoes one byte, print held= and echoed=, then keep them open and idle. */
static int hold(const char *ip, const char *port, int count)
{
    struct sockaddr_in sa = addr_of(ip, port);
    raise_nofile((rlim_t)count + 64);
    struct pollfd *fds = calloc((size_t)count, sizeof(*fds));
    struct timeval five = {.tv_sec = 5};
    double start = now_s();
    int held = 0;
    while (held < count) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            break;
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &five, sizeof(five)); /* bounds connect() */
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || write(fd, "x", 1) != 1) {
            close(fd);
            break;
        }
        fds[held++] = (struct pollfd){.fd = fd, .events = POLLIN};
    }
    int echoed = 0;
    char c;
    double deadline = now_s() + 30;
    while (echoed < held && now_s() < deadline) {
        if (poll(fds, (nfds_t)held, 1000) < 0)
            die("poll");
        for (int i = 0; i < held; i++) {
            if (fds[i].revents && fds[i].fd >= 0) {
                if (read(fds[i].fd, &c, 1) == 1)
                    echoed++;
                fds[i].fd = -fds[i].fd - 1; /* done with it: poll skips negative fds */
            }
        }
    }
    printf("held=%d\nechoed=%d\nhold_s=%.2f\nready=1\n", held, echoed, now_s() - start);
    fflush(stdout);
    for (;;)
        pause(); /* hold them until killed */
    return 0;
}

/* MAX bounds the count as well as the time: every connection leaves a TIME-WAIT behind in
 * this (client) kernel, and once they hold most of its local ports to that one server,
 * connect() spends its time searching for a free port (a 1 s run fell from 12,000 to 375
 * connections/s within three runs), which measures the client, not the server. */
static int cps(const char *ip, const char *port, double seconds, uint64_t max)
{
    struct sockaddr_in sa = addr_of(ip, port);
    double start = now_s(), end = start + seconds;
    uint64_t n = 0;
    while (n < max && now_s() < end) {
        int fd = tcp_connect(&sa);
        close(fd);
        n++;
    }
    printf("conn_per_s=%.0f\nconnections=%llu\n", n / (now_s() - start), (unsigned long long)n);
    return 0;
}

static int bulk_send(const char *ip, const char *port, long mbytes)
{
    struct sockaddr_in sa = addr_of(ip, port);
    int fd = tcp_connect(&sa);
    static char buf[1 << 16];
    uint64_t total = (uint64_t)mbytes << 20, sent = 0;
    double t0 = now_s();
    while (sent < total) {
        ssize_t n = write(fd, buf, sizeof(buf));
        if (n <= 0)
            die("write");
        sent += (uint64_t)n;
    }
    shutdown(fd, SHUT_WR);
    while (read(fd, buf, sizeof(buf)) > 0) /* until the peer closes: all was received */
        ;
    double t = now_s() - t0;
    printf("mbit_per_s=%.1f\n", sent * 8 / t / 1e6);
    close(fd);
    return 0;
}

static int sink(const char *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0)
        die("listen");
    printf("ready=1\n");
    fflush(stdout);
    int fd = accept(ls, NULL, NULL);
    if (fd < 0)
        die("accept");
    static char buf[1 << 16];
    uint64_t total = 0;
    double t0 = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        if (!t0)
            t0 = now_s();
        total += (uint64_t)n;
    }
    double t = now_s() - t0;
    printf("bytes=%llu\nmbit_per_s=%.1f\n", (unsigned long long)total, total * 8 / t / 1e6);
    return 0;
}

/* An epoll echo server: the kernel-side reference for round trips and connections/s.
 * It accepts in a loop (every connection the kernel has queued, not one per wakeup) with
 * a deep backlog, as a real server does: one accept per poll() let the listen queue
 * overflow, and clients waited a second for a SYN retransmission. epoll, not poll(): a
 * poll() over 10,000 idle sockets costs more per round trip than the kernel's TCP does. */
#define ECHOD_MAX_FDS 16384
static int echod(const char *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    raise_nofile(ECHOD_MAX_FDS + 64);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 4096) < 0)
        die("listen");
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) < 0)
        die("epoll");
    printf("ready=1\n");
    fflush(stdout);
    static char buf[1 << 16];
    static struct epoll_event events[256];
    int open_fds = 0;
    for (;;) {
        int n = epoll_wait(ep, events, 256, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == ls) {
                int c;
                while (open_fds < ECHOD_MAX_FDS && (c = accept4(ls, NULL, NULL, 0)) >= 0) {
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                    open_fds++;
                }
                continue;
            }
            ssize_t r = read(fd, buf, sizeof(buf));
            if (r <= 0 || write(fd, buf, (size_t)r) != r) {
                close(fd); /* leaves the epoll set with it */
                open_fds--;
            }
        }
    }
    return 0; /* not reached: killed by bench.sh */
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "hold"))
        return hold(argv[2], argv[3], atoi(argv[4]));
    if (argc == 3 && !strcmp(argv[1], "echod"))
        return echod(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "tapread"))
        return tapread(argv[2], atof(argv[3]));
    if (argc == 6 && !strcmp(argv[1], "flood"))
        return flood(argv[2], argv[3], atoi(argv[4]), atof(argv[5]));
    if (argc == 5 && !strcmp(argv[1], "rtt"))
        return rtt(argv[2], argv[3], atoi(argv[4]));
    if ((argc == 5 || argc == 6) && !strcmp(argv[1], "cps"))
        return cps(argv[2], argv[3], atof(argv[4]),
                   argc == 6 ? strtoull(argv[5], NULL, 10) : UINT64_MAX);
    if (argc == 5 && !strcmp(argv[1], "send"))
        return bulk_send(argv[2], argv[3], atol(argv[4]));
    if (argc == 3 && !strcmp(argv[1], "sink"))
        return sink(argv[2]);
    fprintf(stderr, "usage: see the comment at the top of tests/bench/benchtool.c\n");
    return 2;
}
