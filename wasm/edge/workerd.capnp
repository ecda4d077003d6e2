# workerd config for running the Synk edge worker locally:
#   make edge && .cache/edge/run   (or: workerd serve wasm/edge/workerd.capnp
#   --directory-path storage=DIR --socket-addr http=127.0.0.1:8787, from .cache/edge)
# Durable Objects keep their SQL storage in the "storage" directory: the SQL
# API needs on-disk storage, not in-memory.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "synk", worker = .synkWorker),
    (name = "storage", disk = (path = "storage", writable = true)),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "synk")],
);

const synkWorker :Workerd.Worker = (
  modules = [
    (name = "entry.mjs", esModule = embed "entry.mjs"),
    (name = "wasm_exec.js", esModule = embed "wasm_exec.js"),
    (name = "synk.wasm", wasm = embed "synk.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  durableObjectNamespaces = [(className = "Room", uniqueKey = "synk-rooms", enableSql = true)],
  durableObjectStorage = (localDisk = "storage"),
  bindings = [(name = "ROOMS", durableObjectNamespace = "Room")],
);
