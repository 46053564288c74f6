///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS io.netty:netty-handler:4.2.18.Final
//DEPS io.netty:netty-transport-native-epoll:4.2.18.Final:linux-x86_64
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.LocalTime;
import java.util.concurrent.TimeUnit;

/// Lesson 20 · Netty echo — the same line echo server, written the way production code is.
///
/// Run it: `./jbang lessons/20_NettyEcho.java [--port 1234]`; talk to it: `nc localhost 1234`.
/// Read: docs/chapters/20-netty-echo.adoc
class NettyEcho {
    static final int DEFAULT_PORT = 1234;
    static final int MAX_LINE = 8192;
    static final int DEFAULT_IDLE_SECONDS = 300;

    static final String USAGE = """
            Usage: ./jbang lessons/20_NettyEcho.java [--port N] [--threads N] [--transport epoll|nio]
                                                     [--idle SECONDS] [--quiet] [--help]

            A line echo server on Netty: line framing with a maximum length, an idle timeout,
            and event loops that each serve many connections on one thread.

              --port N         the TCP port to listen on (default %d; 0 picks any free port)
              --threads N      event-loop threads (default 0: Netty's choice, twice the CPUs)
              --transport T    epoll (Linux, native) or nio (the JDK's Selector); default: epoll
                               where it is available, else nio
              --idle SECONDS   close a connection that sends nothing for this long (default %d)
              --quiet          do not narrate every line (for measuring)
              --help           print this help and exit

            Then, in another terminal:  nc localhost 1234
            """.formatted(DEFAULT_PORT, DEFAULT_IDLE_SECONDS);

    record Options(int port, int threads, String transport, int idleSeconds, boolean quiet) {}

    /// A running server: its port, the transport it uses, and `close()` to stop its event loops.
    record Server(Channel listener, EventLoopGroup group, String transport) implements AutoCloseable {
        int port() {
            return ((InetSocketAddress) listener.localAddress()).getPort();
        }

        @Override
        public void close() {
            listener.close().syncUninterruptibly();
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    static volatile boolean quiet;

    // tag::bootstrap[]
    static Server start(Options options) throws InterruptedException {
        quiet = options.quiet();
        boolean epoll = switch (options.transport()) {
            case "epoll" -> Epoll.isAvailable();
            case "nio" -> false;
            default -> throw new IllegalArgumentException("unknown transport: " + options.transport());
        };
        // One group of event loops: each loop is a thread with its own selector (epoll or NIO).
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(options.threads(), new DefaultThreadFactory("event-loop"), io);
        Class<? extends ServerChannel> channelType =
                epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;

        var bootstrap = new ServerBootstrap()
                .group(group)
                .channel(channelType)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        // Each connection gets its own pipeline: bytes flow through these in order.
                        channel.pipeline().addLast(
                                new IdleStateHandler(options.idleSeconds(), 0, 0),
                                new LineBasedFrameDecoder(MAX_LINE, false, true),
                                new EchoHandler());
                    }
                });
        try {
            Channel listener = bootstrap.bind(InetAddress.getLoopbackAddress(), options.port()).sync().channel();
            return new Server(listener, group, epoll ? "epoll" : "nio");
        } catch (InterruptedException | RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw e;
        }
    }
    // end::bootstrap[]

    // tag::handler[]
    /// Called by the connection's event loop, never by two threads at once.
    static final class EchoHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            log("accepted %s", ctx.channel().remoteAddress());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object message) {
            ByteBuf line = (ByteBuf) message;        // one whole line, its \n included
            if (!quiet) {
                log("read %d bytes from %s; echoing", line.readableBytes(), ctx.channel().remoteAddress());
            }
            ctx.write(line);                         // queued; Netty releases the buffer once written
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();                             // one flush for everything this read produced
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof IdleStateEvent) {
                log("%s sent nothing for a while; closing", ctx.channel().remoteAddress());
                refuse(ctx, "ERROR idle for too long; closing");
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof TooLongFrameException) {
                log("refused: line longer than %d bytes from %s", MAX_LINE, ctx.channel().remoteAddress());
                refuse(ctx, "ERROR line longer than " + MAX_LINE + " bytes; closing");
            } else {
                log("connection ended: %s", cause.getMessage());
                ctx.close();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            log("%s closed", ctx.channel().remoteAddress());
        }

        static void refuse(ChannelHandlerContext ctx, String message) {
            ByteBuf reply = Unpooled.copiedBuffer(message + "\n", StandardCharsets.UTF_8);
            ctx.writeAndFlush(reply).addListener(ChannelFutureListener.CLOSE);
        }
    }
    // end::handler[]

    static void log(String format, Object... args) {
        System.out.printf("%tT [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(),
                args.length == 0 ? format : format.formatted(args));
    }

    public static void main(String[] args) throws Exception {
        Options options = parse(args);
        Server server;
        try {
            server = start(options);
        } catch (Exception e) {
            if (e instanceof BindException || e.getCause() instanceof BindException
                    || String.valueOf(e.getMessage()).contains("Address already in use")) {
                System.err.printf("Port %d is already in use. Is another lesson still running? "
                        + "Stop it, or choose another port: --port 0 picks a free one.%n", options.port());
                System.exit(1);
            }
            throw e;
        }
        log("listening on %s:%d (Netty, %s transport); try: nc localhost %d",
                InetAddress.getLoopbackAddress().getHostAddress(), server.port(), server.transport(), server.port());
        Runtime.getRuntime().addShutdownHook(new Thread(server::close));
        server.listener().closeFuture().sync();
    }

    static Options parse(String[] args) {
        int port = DEFAULT_PORT, threads = 0, idle = DEFAULT_IDLE_SECONDS;
        String transport = "epoll";
        boolean quietFlag = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    System.exit(0);
                }
                case "--port" -> port = number(args, ++i, 0, 65_535);
                case "--threads" -> threads = number(args, ++i, 0, 1024);
                case "--idle" -> idle = number(args, ++i, 1, 86_400);
                case "--transport" -> {
                    transport = i + 1 < args.length ? args[++i] : "";
                    if (!transport.equals("epoll") && !transport.equals("nio")) {
                        usageError("--transport is epoll or nio, not '" + transport + "'");
                    }
                }
                case "--quiet" -> quietFlag = true;
                default -> usageError("unknown argument: " + args[i]);
            }
        }
        return new Options(port, threads, transport, idle, quietFlag);
    }

    static int number(String[] args, int i, int min, int max) {
        if (i >= args.length) usageError(args[i - 1] + " needs a number");
        try {
            int n = Integer.parseInt(args[i]);
            if (n < min || n > max) usageError(args[i - 1] + " takes a number from " + min + " to " + max);
            return n;
        } catch (NumberFormatException e) {
            usageError("not a number: " + args[i]);
            return -1;
        }
    }

    static void usageError(String problem) {
        System.err.println("error: " + problem);
        System.err.print(USAGE);
        System.exit(2);
    }
}
