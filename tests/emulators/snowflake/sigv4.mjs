// AWS Signature Version 4 for path-style S3 requests, as the emulator needs it to read staged
// files from the test S3 server (and the self-test to write them). Only what those requests use:
// no query string, signed headers host, x-amz-content-sha256, x-amz-date and, when a session token
// is given, x-amz-security-token.
// Reference: https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
import { createHash, createHmac } from 'node:crypto';

const sha256hex = (data) => createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => createHmac('sha256', key).update(data, 'utf8').digest();

// S3 canonical URI: every byte outside the unreserved set is %-encoded, '/' is kept.
function encodePath(path) {
  return path.split('/').map((seg) => encodeURIComponent(seg)
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())).join('/');
}

// Returns { url, headers } for `method` on `${endpoint}/${bucket}/${key}`; body (Buffer) only for PUT.
export function signS3({ method, endpoint, bucket, key, region, accessKeyId, secretAccessKey, sessionToken, body, now }) {
  const base = new URL(endpoint);
  const path = encodePath(`/${bucket}/${key}`);
  const amzDate = (now ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256hex(body ?? Buffer.alloc(0));
  const headers = { host: base.host, 'x-amz-content-sha256': payloadHash, 'x-amz-date': amzDate };
  if (sessionToken) headers['x-amz-security-token'] = sessionToken;
  const names = Object.keys(headers).sort();
  const canonical = [method, path, '', ...names.map((n) => `${n}:${String(headers[n]).trim()}`), '',
    names.join(';'), payloadHash].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonical)].join('\n');
  let k = hmac('AWS4' + secretAccessKey, day);
  for (const part of [region, 's3', 'aws4_request']) k = hmac(k, part);
  const signature = createHmac('sha256', k).update(toSign, 'utf8').digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  delete headers.host; // fetch sets it from the URL
  return { url: `${base.origin}${path}`, headers };
}
