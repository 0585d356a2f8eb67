// Starts s3rver (an S3-compatible server) on 127.0.0.1 for the S3 sink tests. It checks the shape of SigV4
// requests (Authorization header, x-amz-content-sha256, x-amz-date) and the access key ID (S3RVER), though not the
// signature's value.
// Usage: node server.js <data-directory> <bucket>[,<bucket>...] [port]
// Prints one JSON line {"port": N} once listening; exits when its standard input closes, so the server never
// outlives the test process that started it.
'use strict';

const S3rver = require('s3rver');

async function main() {
  const [directory, buckets, port] = process.argv.slice(2);
  if (!directory || !buckets) {
    console.error('usage: node server.js <data-directory> <bucket>[,<bucket>...] [port]');
    process.exit(2);
  }
  const server = new S3rver({
    address: '127.0.0.1',
    port: port ? Number(port) : 0,
    silent: true,
    directory,
    configureBuckets: buckets.split(',').map(name => ({ name })),
  });
  const address = await server.run();
  process.stdout.write(JSON.stringify({ port: address.port }) + '\n');

  const stop = () => server.close(() => process.exit(0));
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}

main().catch(err => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
