// A plain Node.js HTTP server, as many are written: node's own http module, its default
// keep-alive (5 s), GET / takes 8 s of work, GET /ping answers at once, and on SIGTERM
// server.close(): no new connections, the requests in flight finish, idle ones are closed.
const http = require("http");

const server = http.createServer((req, res) => {
  if (req.url === "/") {
    setTimeout(() => res.end("done\n"), 8000);
  } else if (req.url === "/ping") {
    res.end("pong\n");
  } else {
    res.statusCode = 404;
    res.end("not found\n");
  }
});

process.on("SIGTERM", () => {
  console.log("stopping: no new connections, waiting for the requests in flight");
  server.close(() => {
    console.log("stopped");
    process.exit(0);
  });
});

server.listen(8000, () => console.log("listening on 8000"));
