/* A closed-loop load client on one thread: N connections, each sends a message, waits for its
 * echo, checks it, and sends the next, for a fixed time. Prints the messages per second.
 *
 * Build: gcc -O2 -Wall -Wextra -Werror -o epoll_load epoll_load.c
 * Run:   ./epoll_load --port N [--connections 100] [--seconds 5] [--size 64]
 *
 * Each message is letters ending in a newline, so line echo servers answer it as well.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MAX_SIZE = 4096, MAX_EVENTS = 256 };

/* One connection: how much of the current message it has sent and how much of its echo it has. */
struct client {
    int fd;
    size_t sent, received;
    char echo[MAX_SIZE];
};

static char message[MAX_SIZE];
static size_t size = 64;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void usage(const char *program) {
    fprintf(stderr, "usage: %s --port N [--connections 100] [--seconds 5] [--size 64]\n", program);
    exit(2);
}

static long number(const char *program, const char *text, long low, long high) {
    char *end;
    long value = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || value < low || value > high) usage(program);
    return value;
}

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (fd < 0 || connect(fd, (struct sockaddr *) &addr, sizeof addr) < 0) {
        fprintf(stderr, "cannot connect to 127.0.0.1:%d: %s\n", port, strerror(errno));
        exit(1);
    }
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);   /* small messages: no Nagle delay */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Sends the rest of the message; if the socket is full, waits for EPOLLOUT too. -1 on error. */
static int send_rest(int epoll, struct client *c) {
    while (c->sent < size) {
        ssize_t n = send(c->fd, message + c->sent, size - c->sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
        if (n < 0) break;
        c->sent += (size_t) n;
    }
    struct epoll_event event = { .events = c->sent < size ? EPOLLIN | EPOLLOUT : EPOLLIN, .data.ptr = c };
    return epoll_ctl(epoll, EPOLL_CTL_MOD, c->fd, &event);
}

int main(int argc, char **argv) {
    int port = -1, connections = 100;
    double seconds = 5;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 == argc) usage(argv[0]);
        if (strcmp(argv[i], "--port") == 0) port = (int) number(argv[0], argv[i + 1], 1, 65535);
        else if (strcmp(argv[i], "--connections") == 0) connections = (int) number(argv[0], argv[i + 1], 1, 100000);
        else if (strcmp(argv[i], "--seconds") == 0) seconds = (double) number(argv[0], argv[i + 1], 1, 3600);
        else if (strcmp(argv[i], "--size") == 0) size = (size_t) number(argv[0], argv[i + 1], 1, MAX_SIZE);
        else usage(argv[0]);
    }
    if (port < 0) usage(argv[0]);
    /* Letters, and a newline at the end: line servers (the course's protocol) answer it too. */
    for (size_t i = 0; i < size; i++) message[i] = (char) ('a' + i % 26);
    message[size - 1] = '\n';

    int epoll = epoll_create1(0);
    struct client *clients = calloc((size_t) connections, sizeof *clients);
    for (int i = 0; i < connections; i++) {
        clients[i].fd = connect_to(port);
        struct epoll_event event = { .events = EPOLLIN, .data.ptr = &clients[i] };
        epoll_ctl(epoll, EPOLL_CTL_ADD, clients[i].fd, &event);
        if (send_rest(epoll, &clients[i]) < 0) { perror("send"); return 1; }
    }

    long messages = 0, wrong = 0;
    double start = now(), end = start + seconds;
    struct epoll_event ready[MAX_EVENTS];
    while (now() < end) {
        int n = epoll_wait(epoll, ready, MAX_EVENTS, 100);
        for (int i = 0; i < n; i++) {
            struct client *c = ready[i].data.ptr;
            if ((ready[i].events & EPOLLOUT) && send_rest(epoll, c) < 0) { perror("send"); return 1; }
            if (!(ready[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) continue;
            ssize_t got = recv(c->fd, c->echo + c->received, size - c->received, 0);
            if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                fprintf(stderr, "the server closed a connection after %ld messages\n", messages);
                return 1;
            }
            if (got < 0) continue;
            c->received += (size_t) got;
            if (c->received < size) continue;       /* an echo may come in pieces */
            if (memcmp(c->echo, message, size) != 0) wrong++;
            messages++;
            c->sent = c->received = 0;                /* the echo is whole: send the next */
            if (send_rest(epoll, c) < 0) { perror("send"); return 1; }
        }
    }
    double elapsed = now() - start;
    printf("%d connections, %zu-byte messages, %.1f s: %ld messages, %.0f msgs/s, %ld wrong\n",
           connections, size, elapsed, messages, messages / elapsed, wrong);
    for (int i = 0; i < connections; i++) close(clients[i].fd);
    free(clients);
    return wrong == 0 ? 0 : 1;
}
