/* tap.c - the physical layer, as far as tapir sees it: a Linux TAP device.
 *
 * A TAP device is a virtual Ethernet card whose "wire" is a file descriptor: every frame
 * the kernel sends out of tap0 can be read() here, and every frame we write() arrives
 * in the kernel as if received on tap0. IFF_NO_PI means each read/write is exactly one
 * Ethernet frame, with no extra packet-information header in front.
 */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct tap {
    int fd;
    char name[IFNAMSIZ];
};

struct tap *tap_open(const char *name, int *err)
{
    struct ifreq ifr;
    if (strlen(name) >= IFNAMSIZ) {
        *err = -ENAMETOOLONG;
        return NULL;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *err = -errno;
        return NULL;
    }
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        *err = -errno;
        close(fd);
        return NULL;
    }
    struct tap *tap = calloc(1, sizeof(*tap));
    if (!tap) {
        *err = -ENOMEM;
        close(fd);
        return NULL;
    }
    tap->fd = fd;
    memcpy(tap->name, ifr.ifr_name, IFNAMSIZ);
    return tap;
}

void tap_close(struct tap *tap)
{
    if (!tap)
        return;
    close(tap->fd);
    free(tap);
}

static int tap_send(void *driver, const uint8_t *frame, size_t len, uint64_t now_us)
{
    struct tap *tap = driver;
    (void)now_us;
    ssize_t n = write(tap->fd, frame, len);
    if (n < 0)
        return -errno;
    return n == (ssize_t)len ? 0 : -EIO;
}

static ssize_t tap_recv(void *driver, uint8_t *buf, size_t cap, uint64_t now_us)
{
    struct tap *tap = driver;
    (void)now_us;
    ssize_t n = read(tap->fd, buf, cap);
    if (n < 0)
        return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
    return n;
}

static int tap_fd(void *driver)
{
    return ((struct tap *)driver)->fd;
}

const struct netif_ops tap_ops = {
    .kind = "tap",
    .send = tap_send,
    .recv = tap_recv,
    .fd = tap_fd,
};
