# An active-mode echo server: the runtime reads the socket and sends each line to the owner's mailbox.
#
# Run it: elixir active_echo.exs [--port 1234]   (--port 0 picks any free port)
defmodule ActiveEcho do
  def start(port) do
    # Listen passively; each connection's own process turns active once it owns its socket.
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
    pid = spawn(fn -> receive do: (:go -> start_serving(socket)) end)
    :ok = :gen_tcp.controlling_process(socket, pid)
    send(pid, :go)
    accept(listener)
  end

  # tag::serve[]
  defp start_serving(socket) do
    :ok = :inet.setopts(socket, active: true)        # from now on every line is a message to us
    serve(socket)
  end

  defp serve(socket) do
    receive do
      {:tcp, ^socket, line} ->                        # no flow control: a fast sender fills the mailbox
        :ok = :gen_tcp.send(socket, line)
        serve(socket)

      {:tcp_closed, ^socket} ->
        :gen_tcp.close(socket)
    end
  end
  # end::serve[]
end

{options, _, _} = OptionParser.parse(System.argv(), strict: [port: :integer])
ActiveEcho.start(Keyword.get(options, :port, 1234))
