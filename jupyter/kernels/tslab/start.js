#!/usr/bin/env node
// Starts tslab's kernel so that no zeromq socket is used while it is binding.
// Why: tslab starts its receive loops and binds its five sockets all at once. zeromq 6 refuses any send or receive on a
// socket whose bind is in progress ("Socket is blocked by a bind or unbind operation", EBUSY): when that happens the
// rejection goes unhandled, tslab's message loop for that socket ends, Jupyter's kernel_info request is never answered
// and the client gives up after 60 s (seen about once in 13 starts). Here binds run one after another in tslab's order
// (iopub first, shell after it, so no request arrives before iopub can publish), and a send or receive issued while its
// socket is binding waits for the bind instead of failing.
// INFTY_KERNEL_PARALLEL_BIND=1 keeps tslab's own behaviour (scripts/kernel-start-check.py compares the two).
const path = require("path");
const root = path.resolve(__dirname, "..", "..", "..");
const tslabDir = path.join(root, "node_modules", "tslab");
const jupyter = require(path.join(tslabDir, "dist", "jupyter.js"));
const zmq = require(require.resolve("zeromq", { paths: [tslabDir] })); // the instance tslab loads

const guard = process.env.INFTY_KERNEL_PARALLEL_BIND !== "1";
const proto = zmq.Socket.prototype;
const { bind, send, receive } = proto;
proto.bind = function (addr) {
  const done = bind.call(this, addr);
  this.inftyBinding = done.catch(() => undefined).then(() => { this.inftyBinding = null; });
  return done;
};
if (guard) {
  proto.send = function (...args) {
    return this.inftyBinding ? this.inftyBinding.then(() => send.apply(this, args)) : send.apply(this, args);
  };
  proto.receive = function (...args) {
    return this.inftyBinding ? this.inftyBinding.then(() => receive.apply(this, args)) : receive.apply(this, args);
  };
  const bindSocket = jupyter.ZmqServer.prototype.bindSocket;
  jupyter.ZmqServer.prototype.bindSocket = function (sock, port) {
    const next = (this.inftyBinds || Promise.resolve()).then(() => bindSocket.call(this, sock, port));
    this.inftyBinds = next.catch(() => undefined);
    return next;
  };
}
require(path.join(tslabDir, "dist", "main.js")).main();
