# An `active: :once` echo server: one line arrives as a message, then the owner re-arms the socket.
#
# Run it: elixir once_echo.exs [--port 1234]   (--port 0 picks any free port)
defmodule OnceEcho do
  def start(port) do
    # exit_on_close: false keeps the socket writable after the client's FIN: its last lines get an echo.
    options = [:binary, packet: :line, active: false, reuseaddr: true, ip: {127, 0, 0, 1}, backlog: 1024,
               exit_on_close: false]

    case :gen_tcp.listen(port, options) do
      {:ok, listener} ->
        {:ok, bound} = :inet.port(listener)
        IO.puts("listening on 127.0.0.1:#{bound}")
        accept(listener)

      {:error, reason} ->
        IO.puts(:stderr, "cannot listen on port #{port}: #{:inet.format_error(reason)} (try --port 0)")
        System.halt(1)
    end
  end

  defp accept(listener) do
    {:ok, socket} = :gen_tcp.accept(listener)
    pid = spawn(fn -> serve(socket) end)
    :ok = :gen_tcp.controlling_process(socket, pid)
    accept(listener)
  end

  # tag::serve[]
  defp serve(socket) do
    :ok = :inet.setopts(socket, active: :once)       # one message, then the socket is passive again
    receive do
      {:tcp, ^socket, line} ->                        # until we re-arm, the kernel holds the rest
        :ok = :gen_tcp.send(socket, line)
        serve(socket)

      {:tcp_closed, ^socket} ->
        :gen_tcp.close(socket)
    end
  end
  # end::serve[]
end

{options, _, _} = OptionParser.parse(System.argv(), strict: [port: :integer])
OnceEcho.start(Keyword.get(options, :port, 1234))
