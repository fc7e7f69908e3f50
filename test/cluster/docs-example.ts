/** The setup docs/haproxy.cfg and docs/nginx.conf describe: three nodes on 3001..3003 behind port 3000. */
export const DOCS_HAPROXY = { listenPort: 3000, backends: [3001, 3002, 3003] };
