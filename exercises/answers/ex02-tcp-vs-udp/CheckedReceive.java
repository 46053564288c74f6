///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;

/// Exercise 02.3 · A receive that notices truncation: `receive` cuts a datagram longer than its
/// buffer and says nothing; this one says so.
///
/// Run it: `./jbang exercises/ex02-tcp-vs-udp/CheckedReceive.java`; check it:
/// `./jbang labs/Grade.java ex02`.
class CheckedReceive {

    /// One datagram of at most `limit` bytes, whole; an IOException when the datagram was longer.
    static byte[] receiveChecked(DatagramSocket socket, int limit) throws IOException {
        // One byte more than the limit: a datagram that fills it was longer than the limit.
        var packet = new DatagramPacket(new byte[limit + 1], limit + 1);
        socket.receive(packet);
        if (packet.getLength() > limit) {
            throw new IOException("a datagram longer than " + limit + " bytes (the rest was discarded)");
        }
        return Arrays.copyOf(packet.getData(), packet.getLength());
    }

    public static void main(String[] args) throws IOException {
        var loopback = InetAddress.getLoopbackAddress();
        try (var receiver = new DatagramSocket(new InetSocketAddress(loopback, 0));
                var sender = new DatagramSocket(new InetSocketAddress(loopback, 0))) {
            receiver.setSoTimeout(3_000);
            for (int size : new int[] {8, 9}) {
                sender.send(new DatagramPacket(new byte[size], size, receiver.getLocalSocketAddress()));
                try {
                    System.out.println("a datagram of " + size + " bytes, limit 8: got " + receiveChecked(receiver, 8).length + " bytes");
                } catch (IOException e) {
                    System.out.println("a datagram of " + size + " bytes, limit 8: refused: " + e.getMessage());
                }
            }
        }
    }
}
