// An S3 server for the tests: @20minutes/s3rver, which checks Signature Version 4 on every
// request (credentials S3RVER / S3RVER), on 127.0.0.1:PORT, objects under DIR, with the given
// buckets. Runs until killed; prints "ready" once it listens.
//
// Usage: node s3rver.mjs PORT DIR BUCKET...
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const S3rver = require('@20minutes/s3rver');

const [port, directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory,
  silent: true,
  vhostBuckets: false,
  configureBuckets: buckets.map((name) => ({ name })),
});
await server.run();
console.log('ready');
