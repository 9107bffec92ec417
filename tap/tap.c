/* tap.c - the physical layer, as far as tapir sees it: a Linux TAP device.
 *
 * A TAP device is a virtual Ethernet card whose "wire" is a file descriptor: every frame
 * the kernel sends out of tap0 can be read() here, and every frame we write() arrives
 * in the kernel as if received on tap0. IFF_NO_PI means each read/write is exactly one
 * Ethernet frame, with no extra packet-information header in front.
 */
#include "tap.h"
#include "../stack/bytes.h"
#include "../stack/checksum.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

/* With IFF_VNET_HDR every frame, both ways, is preceded by a virtio-net header (the
 * interface of a virtual machine's network card). We use it for one thing: to hand the
 * kernel a large TCP segment and let it act as a card doing TCP segmentation offload
 * (TSO), and, the other way, to let the kernel hand us large TCP segments (as a card's
 * receive offload would) with the checksum left for us to finish (tap_recv does). */
#define VNET_HDR_LEN      10
#define VNET_GSO_NONE     0
#define VNET_GSO_TCPV4    1
#define VNET_F_NEEDS_CSUM 1

struct tap {
    int fd;
    bool vnet_hdr;
    char name[IFNAMSIZ];
};

struct tap *tap_open(const char *name, int *err)
{
    return tap_open_with(name, true, err);
}

struct tap *tap_open_with(const char *name, bool offload, int *err)
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
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    bool vnet_hdr = offload;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) { /* an older kernel: plain frames, no TSO */
        vnet_hdr = false;
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
            *err = -errno;
            close(fd);
            return NULL;
        }
    }
    struct tap *tap = calloc(1, sizeof(*tap));
    if (!tap) {
        *err = -ENOMEM;
        close(fd);
        return NULL;
    }
    /* Offer receive offloads: checksums left to us, and IPv4 TCP segments up to 64 KiB */
    /* (Without the header, or if refused, turn off what an earlier user of a persistent
     * device turned on: large frames would come without the header that explains them.) */
    if (!vnet_hdr || ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4) < 0)
        ioctl(fd, TUNSETOFFLOAD, 0);
    tap->fd = fd;
    tap->vnet_hdr = vnet_hdr;
    memcpy(tap->name, ifr.ifr_name, IFNAMSIZ);
    return tap;
}

void tap_close(struct tap *tap)
{
    if (!tap)
        return;
    /* The device may outlive us (a persistent tap0): leave it as a fresh one would be.
     * With the offloads still on, the next plain TAP reader would get TCP segments whose
     * checksums the kernel left for it to finish, and drop every one. */
    if (tap->vnet_hdr)
        ioctl(tap->fd, TUNSETOFFLOAD, 0);
    close(tap->fd);
    free(tap);
}

/* Write one frame, behind a virtio-net header when the device wants one. */
static int write_frame(struct tap *tap, const uint8_t hdr[VNET_HDR_LEN], const uint8_t *frame,
                       size_t len)
{
    struct iovec iov[2] = {
        {.iov_base = (void *)hdr, .iov_len = VNET_HDR_LEN},
        {.iov_base = (void *)frame, .iov_len = len},
    };
    int first = tap->vnet_hdr ? 0 : 1;
    size_t want = len + (tap->vnet_hdr ? VNET_HDR_LEN : 0);
    ssize_t n = writev(tap->fd, iov + first, 2 - first);
    if (n < 0)
        return -errno;
    return (size_t)n == want ? 0 : -EIO;
}

static int tap_send(void *driver, const uint8_t *frame, size_t len, uint64_t now_us)
{
    static const uint8_t plain[VNET_HDR_LEN]; /* no offload: gso_type NONE */
    (void)now_us;
    return write_frame(driver, plain, frame, len);
}

/* A TCP segment larger than one MSS: the kernel receives it as a card that did TSO would
 * pass it, one large packet of `mss`-byte segments. Its checksum is complete already. */
static int tap_send_tso(void *driver, const uint8_t *frame, size_t len, uint16_t mss,
                        uint64_t now_us)
{
    struct tap *tap = driver;
    (void)now_us;
    if (!tap->vnet_hdr || len < 14 + 20 + 20)
        return -EOPNOTSUPP;
    size_t ip_hlen = (size_t)(frame[14] & 0x0f) * 4;
    size_t tcp_hlen = (size_t)(frame[14 + ip_hlen + 12] >> 4) * 4;
    uint8_t hdr[VNET_HDR_LEN] = {0};
    hdr[0] = 0;                                             /* flags: no checksum left to fill in */
    hdr[1] = VNET_GSO_TCPV4;                                /* gso_type */
    put_le16(hdr + 2, (uint16_t)(14 + ip_hlen + tcp_hlen)); /* hdr_len */
    put_le16(hdr + 4, mss);                                 /* gso_size */
    return write_frame(tap, hdr, frame, len);
}

/* The kernel left the transport checksum for the "card" to compute, as on a real NIC
 * with checksum offload: csum_start says where the sum starts (the transport header,
 * whose checksum field holds the pseudo-header's sum), csum_offset where it goes. We
 * finish it in software, so the stack above sees an ordinary, checkable frame. */
static void finish_checksum(const uint8_t hdr[VNET_HDR_LEN], uint8_t *frame, size_t len)
{
    size_t start = get_le16(hdr + 6), off = get_le16(hdr + 8);
    if (start >= len || start + off + 2 > len)
        return; /* nonsense: leave it, the stack's own check will drop the frame */
    uint16_t sum = inet_checksum(frame + start, len - start);
    frame[start + off] = (uint8_t)(sum >> 8);
    frame[start + off + 1] = (uint8_t)sum;
}

static ssize_t tap_recv(void *driver, uint8_t *buf, size_t cap, uint64_t now_us)
{
    struct tap *tap = driver;
    uint8_t hdr[VNET_HDR_LEN];
    struct iovec iov[2] = {
        {.iov_base = hdr, .iov_len = VNET_HDR_LEN},
        {.iov_base = buf, .iov_len = cap},
    };
    (void)now_us;
    int first = tap->vnet_hdr ? 0 : 1;
    ssize_t n = readv(tap->fd, iov + first, 2 - first);
    if (n < 0)
        return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
    if (!tap->vnet_hdr)
        return n;
    n = n >= VNET_HDR_LEN ? n - VNET_HDR_LEN : 0;
    if (hdr[0] & VNET_F_NEEDS_CSUM)
        finish_checksum(hdr, buf, (size_t)n);
    return n;
}

static int tap_fd(void *driver)
{
    return ((struct tap *)driver)->fd;
}

static const struct netif_ops tap_ops_plain = {
    .kind = "tap",
    .send = tap_send,
    .recv = tap_recv,
    .fd = tap_fd,
};

static const struct netif_ops tap_ops_tso = {
    .kind = "tap",
    .send = tap_send,
    .recv = tap_recv,
    .fd = tap_fd,
    .rx_large = true,
    .send_tso = tap_send_tso,
};

const struct netif_ops *tap_netif_ops(const struct tap *tap)
{
    return tap->vnet_hdr ? &tap_ops_tso : &tap_ops_plain;
}
