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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/// Lesson 20 · Netty echo — the same line echo server, written the way production code is.
///
/// Run it: `./jbang lessons/20_NettyEcho.java [--port 1234] [--threads N]`; talk to it: `nc -N localhost 1234`.
/// Chapter: docs/chapters/20-netty-echo.adoc · Test: lessons/test/NettyEchoTest.java
/// Not here: the Selector loop Netty is built on, written by hand (lesson 08); stopping reads while a
/// client does not read its echoes (lesson 07); how fast it is beside the others (lesson 19).
class NettyEcho {
    static final int DEFAULT_PORT = 1234;
    static final int MAX_LINE = 8192;           // the longest line accepted, in bytes, not counting the newline
    static final int DEFAULT_IDLE_SECONDS = 300;
    /// How many finished connections the kernel may hold for us before the event loop accepts them: as in
    /// lesson 05, so that a crowd connecting at once waits in no SYN retries. (Netty's default: somaxconn.)
    static final int BACKLOG = 1024;

    record Options(int port, int threads, String transport, int idleSeconds) {}

    /// A running server: its port, the transport it uses, and `close()` to stop its event loops.
    record Server(Channel listener, EventLoopGroup group, String transport) implements AutoCloseable {
        int port() { return ((InetSocketAddress) listener.localAddress()).getPort(); }

        @Override
        public void close() {
            listener.close().syncUninterruptibly();
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    // tag::bootstrap[]
    static Server start(Options options) throws InterruptedException, BindException {
        boolean epoll = options.transport().equals("epoll") && Epoll.isAvailable();
        // One group of event loops: each loop is a thread with its own selector (epoll or NIO).
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        var group = new MultiThreadIoEventLoopGroup(options.threads(), new DefaultThreadFactory("event-loop"), io);
        var bootstrap = new ServerBootstrap()
                .group(group)
                .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, BACKLOG)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        // Each connection gets its own pipeline: bytes flow through these in order.
                        channel.pipeline().addLast(new IdleStateHandler(options.idleSeconds(), 0, 0),
                                new LineBasedFrameDecoder(MAX_LINE, false, true), new EchoHandler());
                    }
                });
        try {
            // Bind to loopback: only this machine can connect.
            Channel listener = bootstrap.bind(InetAddress.getLoopbackAddress(), options.port()).sync().channel();
            return new Server(listener, group, epoll ? "epoll" : "nio");
        } catch (Exception e) {                     // sync() rethrows whatever bind(2) failed with
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            // The epoll transport reports EADDRINUSE as an IOException of its own: name it plainly.
            if (e.getMessage() instanceof String m && m.contains("Address already in use")) throw new BindException(m);
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
            trace("read %d bytes from %s; echoing", line.readableBytes(), ctx.channel().remoteAddress());
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

        /// Sends a last line and closes; a real server would first drain the input lest a reset lose it (lesson 05).
        static void refuse(ChannelHandlerContext ctx, String message) {
            ByteBuf reply = Unpooled.copiedBuffer(message + "\n", StandardCharsets.UTF_8);
            ctx.writeAndFlush(reply).addListener(ChannelFutureListener.CLOSE);
        }
    }
    // end::handler[]

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/20_NettyEcho.java [--port N] [--threads N] [--transport T] [--idle S] [--help]

              --port N         the TCP port to listen on (default %d; 0 picks any free port)
              --threads N      event-loop threads (default 0: Netty's choice, twice the CPUs)
              --transport T    epoll (the default: Linux's own, or nio where it is missing) or nio (the JDK's Selector)
              --idle S         close a connection that sends nothing for S seconds (default %d)
              --help           print this help and exit

            Then, in another terminal:  nc -N localhost 1234
            """.formatted(DEFAULT_PORT, DEFAULT_IDLE_SECONDS);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        int threads = commandLine.number("--threads", 0, 0, 1024);
        int idle = commandLine.number("--idle", DEFAULT_IDLE_SECONDS, 1, 86_400);
        String transport = commandLine.text("--transport", "epoll");
        if (!transport.matches("epoll|nio")) throw commandLine.fail("--transport is epoll or nio, not " + transport);
        commandLine.done();
        try {
            Server server = start(new Options(port, threads, transport, idle));
            log("listening on %s:%d (Netty, %s transport); try: nc -N localhost %d",
                    InetAddress.getLoopbackAddress().getHostAddress(), server.port(), server.transport(),
                    server.port());
            server.listener().closeFuture().sync();
        } catch (BindException e) {
            CommandLine.exitPortInUse(port, e);
        }
    }

    /// Prints a line of narration: the time, the thread, what happens.
    static void log(String format, Object... args) {
        System.out.printf("%tT [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(),
                args.length == 0 ? format : format.formatted(args));
    }

    /// Narration for every message. `-Dsocketlab.quiet=true` turns it off for the benchmark.
    static void trace(String format, Object... args) {
        if (!QUIET) log(format, args);
    }

    static final boolean QUIET = Boolean.getBoolean("socketlab.quiet");

    /// `--help`, options `--name value` (or `--name=value`) and flags `--name`. A mistake prints what
    /// is wrong and the usage, and exits 2; a port in use prints one line, and exits 1.
    record CommandLine(String usage, List<String> args) {
        CommandLine(String usage, String[] args) {
            this(usage, new ArrayList<>());
            // --port=1234 becomes --port 1234; a split limit of 1 leaves any other argument whole.
            for (String arg : args) this.args.addAll(List.of(arg.split("=", arg.startsWith("--") ? 2 : 1)));
            if (this.args.contains("--help") || this.args.contains("-h")) {
                System.out.print(usage);
                System.exit(0);
            }
        }

        int port(int otherwise) { return number("--port", otherwise, 0, 65_535); }

        int number(String name, int otherwise, int min, int max) {
            String text = text(name, null);
            if (text == null) return otherwise;
            if (text.matches("-?\\d{1,9}") && Integer.parseInt(text) >= min && Integer.parseInt(text) <= max) {
                return Integer.parseInt(text);
            }
            throw fail("%s needs a whole number from %d to %d, not '%s'".formatted(name, min, max, text));
        }

        String text(String name, String otherwise) {
            int at = args.indexOf(name);
            if (at == -1) return otherwise;
            if (at + 1 == args.size()) throw fail(name + " needs a value");
            args.remove(at);
            return args.remove(at);
        }

        boolean flag(String name) { return args.remove(name); }

        void done() {
            if (!args.isEmpty()) throw fail("unknown argument: " + args.getFirst());
        }

        RuntimeException fail(String problem) {
            System.err.print("error: " + problem + "\n" + usage);
            System.exit(2);
            return new IllegalStateException(problem);
        }

        static void exitPortInUse(int port, BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
        }
    }
}
