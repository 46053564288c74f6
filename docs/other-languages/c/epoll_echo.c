/* An echo server on one thread: non-blocking sockets and an epoll loop.
 *
 * Build: gcc -O2 -Wall -Wextra -Werror -o epoll_echo epoll_echo.c
 * Run:   ./epoll_echo [--port 1234]        (--port 0 picks any free port and prints it)
 *
 * It echoes whatever each read returns. When the client does not read fast enough and a write
 * is partial, the rest waits in a buffer of its own, the connection stops reading (EPOLLIN off)
 * and waits to be writable (EPOLLOUT on): the client's slowness throttles only its own input.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BACKLOG = 1024, MAX_EVENTS = 256, READ_SIZE = 64 * 1024 };

/* One client: its socket, and the bytes a partial write left unsent (none most of the time). */
struct connection {
    int fd;
    char *pending;
    size_t pending_len, pending_sent;
};

static int listen_on(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) { perror("socket"); exit(1); }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(fd, (struct sockaddr *) &addr, sizeof addr) < 0) {
        fprintf(stderr, "cannot listen on port %d: %s (try --port 0)\n", port, strerror(errno));
        exit(1);
    }
    if (listen(fd, BACKLOG) < 0) { perror("listen"); exit(1); }
    socklen_t len = sizeof addr;
    getsockname(fd, (struct sockaddr *) &addr, &len);
    printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    return fd;
}

static void watch(int epoll, int op, struct connection *c, unsigned events) {
    struct epoll_event event = { .events = events, .data.ptr = c };
    if (epoll_ctl(epoll, op, c->fd, &event) < 0) { perror("epoll_ctl"); exit(1); }
}

static void drop(struct connection *c) {
    close(c->fd);                   /* closing also removes it from the epoll set */
    free(c->pending);
    free(c);
}

static void accept_all(int epoll, int listener) {
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;   /* the queue is empty */
            if (errno == EINTR || errno == ECONNABORTED) continue;
            perror("accept4");      /* EMFILE and the like: try again on the next event */
            return;
        }
        struct connection *c = calloc(1, sizeof *c);
        if (c == NULL) { close(fd); return; }
        c->fd = fd;
        watch(epoll, EPOLL_CTL_ADD, c, EPOLLIN);
    }
}

// tag::write[]
/* Sends what is pending. Returns 0 when all is sent, 1 when the socket is full, -1 on error. */
static int flush_pending(struct connection *c) {
    while (c->pending_sent < c->pending_len) {
        ssize_t n = send(c->fd, c->pending + c->pending_sent, c->pending_len - c->pending_sent,
                         MSG_NOSIGNAL);             /* a closed peer gives EPIPE, not SIGPIPE */
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
        }
        c->pending_sent += (size_t) n;
    }
    free(c->pending);
    c->pending = NULL;
    c->pending_len = c->pending_sent = 0;
    return 0;
}

/* Echoes `data` straight from the read buffer; only what the socket does not take now is copied
 * and kept, and the connection then waits for EPOLLOUT instead of reading more. */
static int echo(int epoll, struct connection *c, const char *data, size_t len) {
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send(c->fd, data + sent, len - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;     /* its send buffer is full */
            return -1;
        }
        sent += (size_t) n;
    }
    if (sent == len) return 0;
    c->pending = malloc(len - sent);
    if (c->pending == NULL) return -1;
    memcpy(c->pending, data + sent, len - sent);
    c->pending_len = len - sent;
    watch(epoll, EPOLL_CTL_MOD, c, EPOLLOUT);
    return 0;
}
// end::write[]

// tag::loop[]
static void serve(int listener) {
    static char buffer[READ_SIZE];              /* one thread: one read buffer for everyone */
    int epoll = epoll_create1(0);
    if (epoll < 0) { perror("epoll_create1"); exit(1); }
    struct epoll_event event = { .events = EPOLLIN, .data.ptr = NULL };   /* NULL: the listener */
    epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);

    struct epoll_event ready[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(epoll, ready, MAX_EVENTS, -1);    /* sleep until a socket is ready */
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { perror("epoll_wait"); exit(1); }
        for (int i = 0; i < n; i++) {
            struct connection *c = ready[i].data.ptr;
            if (c == NULL) { accept_all(epoll, listener); continue; }
            if (c->pending != NULL) {           /* EPOLLOUT (or an error): finish the write */
                int status = flush_pending(c);
                if (status < 0) drop(c);
                else if (status == 0) watch(epoll, EPOLL_CTL_MOD, c, EPOLLIN);
                continue;
            }
            ssize_t got = recv(c->fd, buffer, sizeof buffer, 0);
            if (got > 0) {
                if (echo(epoll, c, buffer, (size_t) got) < 0) drop(c);
            } else if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                drop(c);                        /* end of stream, or a reset */
            }
        }
    }
}
// end::loop[]

static void usage(const char *program) {
    fprintf(stderr, "usage: %s [--port N]   (0 to 65535; 0 picks any free port)\n", program);
    exit(2);
}

int main(int argc, char **argv) {
    int port = 1234;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") != 0 || i + 1 == argc) usage(argv[0]);
        char *end;
        long value = strtol(argv[++i], &end, 10);
        if (*argv[i] == '\0' || *end != '\0' || value < 0 || value > 65535) usage(argv[0]);
        port = (int) value;
    }
    serve(listen_on(port));
}
