#!/usr/bin/env node
// The reference server, started exactly as `@y/websocket-server`'s own bin (src/server.js) does,
// except that it prints the real port when started with PORT=0, in the same form as ardoise:
// `listening on http://HOST:PORT`. Environment: HOST (default 127.0.0.1), PORT (default 0).
import http from 'node:http'
import WebSocket from 'ws'
import { setupWSConnection } from '@y/websocket-server/utils'

const host = process.env.HOST || '127.0.0.1'
const port = Number.parseInt(process.env.PORT || '0', 10)

const wss = new WebSocket.Server({ noServer: true })
const server = http.createServer((_request, response) => {
  response.writeHead(200, { 'Content-Type': 'text/plain' })
  response.end('okay')
})

wss.on('connection', setupWSConnection)

server.on('upgrade', (request, socket, head) => {
  wss.handleUpgrade(request, socket, head, ws => {
    wss.emit('connection', ws, request)
  })
})

server.listen(port, host, () => {
  const { address, port } = server.address()
  console.log(`listening on http://${address}:${port}`)
})

const stop = () => server.close(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
