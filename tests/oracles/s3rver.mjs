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
// s3rver's filesystem store removes a key's directories when a delete leaves them empty; a put
// into the same directory at that moment loses its object (its write finds the directory gone)
// while its metadata is kept. S3 has no directories, so deletes here leave them in place.
const fsp = require('node:fs/promises');
server.store.deleteObject = async function (bucket, key) {
  await Promise.all(['object', 'object.md5', 'metadata.json'].map((r) =>
    fsp.unlink(this.getResourcePath(bucket, key, r)).catch((e) => { if (e.code !== 'ENOENT') throw e; })));
};
await server.run();
console.log('ready');
