/*
 * jern-testapp: a tiny HTTP/1.1 server used as demo backend, test backend and
 * container image (it links statically). Listens on $PORT (or argv[1]) and
 * answers every request with "hello from $APP_NAME". One thread per connection.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *name = "testapp";

static void *serve(void *arg)
{
    int fd = (int)(long)arg;
    char buf[16384];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof(buf) - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        char *end = memmem(buf, have, "\r\n\r\n", 4);
        if (!end)
            continue;
        char body[256], resp[512];
        int blen = snprintf(body, sizeof(body), "hello from %s\n", name);
        int rlen = snprintf(resp, sizeof(resp),
                            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
                            blen, body);
        if (write(fd, resp, (size_t)rlen) != rlen)
            break;
        size_t used = (size_t)(end + 4 - buf);
        memmove(buf, buf + used, have - used);
        have -= used;
    }
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *port = argc > 1 ? argv[1] : getenv("PORT");
    if (getenv("APP_NAME"))
        name = getenv("APP_NAME");
    if (!port) {
        fprintf(stderr, "usage: jern-testapp PORT (or set $PORT)\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port))};
    sin.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(lfd, 1024) < 0) {
        perror("jern-testapp: bind");
        return 1;
    }
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_t t;
        pthread_create(&t, NULL, serve, (void *)(long)fd);
        pthread_detach(t);
    }
}
