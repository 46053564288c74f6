# A passive-mode echo server: each connection's process asks for every line with :gen_tcp.recv.
#
# Run it: elixir passive_echo.exs [--port 1234]   (--port 0 picks any free port)
defmodule PassiveEcho do
  # tag::listen[]
  def start(port) do
    options = [:binary, packet: :line, active: false, reuseaddr: true, ip: {127, 0, 0, 1}, backlog: 1024]

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
  # end::listen[]

  # tag::accept[]
  defp accept(listener) do
    {:ok, socket} = :gen_tcp.accept(listener)
    pid = spawn(fn -> serve(socket) end)
    :ok = :gen_tcp.controlling_process(socket, pid)   # the socket's owner: it dies, the socket closes
    accept(listener)
  end
  # end::accept[]

  # tag::serve[]
  defp serve(socket) do
    case :gen_tcp.recv(socket, 0) do                  # nothing arrives until we ask: one line
      {:ok, line} ->
        :ok = :gen_tcp.send(socket, line)
        serve(socket)

      {:error, :closed} ->
        :gen_tcp.close(socket)
    end
  end
  # end::serve[]
end

{options, _, _} = OptionParser.parse(System.argv(), strict: [port: :integer])
PassiveEcho.start(Keyword.get(options, :port, 1234))
