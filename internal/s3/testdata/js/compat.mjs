// The AWS SDK for JavaScript v3 against Portico's S3 store: server-side
// multipart copy, presigned URLs (SigV4, as the presigner makes them),
// multipart checksums, sub-resources. Credentials and endpoint come from the
// environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL).
// Prints "ok" when every check passed.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import {
  S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand,
  CreateMultipartUploadCommand, UploadPartCopyCommand, UploadPartCommand, CompleteMultipartUploadCommand,
  PutBucketCorsCommand, GetBucketCorsCommand, PutBucketWebsiteCommand, GetBucketPolicyCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

const s3 = new S3Client({ region: "us-east-1", endpoint: process.env.AWS_ENDPOINT_URL, forcePathStyle: true });
const Bucket = "js-compat";
const bytes = async (body) => Buffer.from(await body.transformToByteArray());

await s3.send(new CreateBucketCommand({ Bucket }));
const big = randomBytes(11 * 1024 * 1024 + 7);
await s3.send(new PutObjectCommand({ Bucket, Key: "big", Body: big }));

// The SDK's default checksum is kept and returned with checksum mode.
let head = await s3.send(new HeadObjectCommand({ Bucket, Key: "big", ChecksumMode: "ENABLED" }));
assert.ok(head.ChecksumCRC32 || head.ChecksumCRC64NVME, "no checksum kept: " + JSON.stringify(head));
assert.equal(head.ChecksumType, "FULL_OBJECT");

// UploadPartCopy with ranges into a CRC32 (composite) upload.
const up = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "copy", ChecksumAlgorithm: "CRC32" }));
const half = 6 * 1024 * 1024;
const ranges = [`bytes=0-${half - 1}`, `bytes=${half}-${big.length - 1}`];
const Parts = [];
for (const [i, CopySourceRange] of ranges.entries()) {
  const r = await s3.send(new UploadPartCopyCommand({ Bucket, Key: "copy", UploadId: up.UploadId, PartNumber: i + 1,
    CopySource: `${Bucket}/big`, CopySourceRange }));
  assert.ok(r.CopyPartResult.ChecksumCRC32, "copied part without its CRC32");
  Parts.push({ PartNumber: i + 1, ETag: r.CopyPartResult.ETag, ChecksumCRC32: r.CopyPartResult.ChecksumCRC32 });
}
const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: "copy", UploadId: up.UploadId, MultipartUpload: { Parts } }));
assert.match(done.ChecksumCRC32, /-2$/);
assert.equal(done.ChecksumType, "COMPOSITE");
const copy = await s3.send(new GetObjectCommand({ Bucket, Key: "copy" }));
assert.ok((await bytes(copy.Body)).equals(big), "UploadPartCopy assembled other bytes");
head = await s3.send(new HeadObjectCommand({ Bucket, Key: "copy", ChecksumMode: "ENABLED" }));
assert.equal(head.ChecksumCRC32, done.ChecksumCRC32);
assert.equal(head.ChecksumType, "COMPOSITE");

// Multipart upload with SHA256 parts: composite of the part digests.
const up2 = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "sha", ChecksumAlgorithm: "SHA256" }));
const chunks = [big.subarray(0, 5 * 1024 * 1024), big.subarray(5 * 1024 * 1024)];
const parts2 = [];
const raw = [];
for (const [i, Body] of chunks.entries()) {
  const r = await s3.send(new UploadPartCommand({ Bucket, Key: "sha", UploadId: up2.UploadId, PartNumber: i + 1, Body, ChecksumAlgorithm: "SHA256" }));
  parts2.push({ PartNumber: i + 1, ETag: r.ETag, ChecksumSHA256: r.ChecksumSHA256 });
  raw.push(createHash("sha256").update(Body).digest());
}
const done2 = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: "sha", UploadId: up2.UploadId, MultipartUpload: { Parts: parts2 } }));
assert.equal(done2.ChecksumSHA256, createHash("sha256").update(Buffer.concat(raw)).digest("base64") + "-2");

// Presigned URLs from @aws-sdk/s3-request-presigner.
await s3.send(new PutObjectCommand({ Bucket, Key: "note.txt", Body: "presigned from js" }));
const getURL = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: "note.txt" }), { expiresIn: 300 });
let res = await fetch(getURL);
assert.equal(res.status, 200);
assert.equal(await res.text(), "presigned from js");
const putURL = await getSignedUrl(s3, new PutObjectCommand({ Bucket, Key: "put.txt" }), { expiresIn: 300 });
res = await fetch(putURL, { method: "PUT", body: "put by url" });
assert.equal(res.status, 200, await res.text());
assert.equal(await (await s3.send(new GetObjectCommand({ Bucket, Key: "put.txt" }))).Body.transformToString(), "put by url");
const expired = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: "note.txt" }), { expiresIn: 60, signingDate: new Date(Date.now() - 3600e3) });
res = await fetch(expired);
assert.equal(res.status, 403);
assert.match(await res.text(), /<Code>AccessDenied<\/Code>/);
const forged = getURL.replace(/X-Amz-Signature=([0-9a-f])/, (m, c) => "X-Amz-Signature=" + (c === "0" ? "1" : "0"));
res = await fetch(forged);
assert.equal(res.status, 403);
assert.match(await res.text(), /<Code>SignatureDoesNotMatch<\/Code>/);

// Sub-resources.
await s3.send(new PutBucketCorsCommand({ Bucket, CORSConfiguration: { CORSRules: [{ AllowedMethods: ["PUT"], AllowedOrigins: ["http://app.example"] }] } }));
const cors = await s3.send(new GetBucketCorsCommand({ Bucket }));
assert.deepEqual(cors.CORSRules[0].AllowedOrigins, ["http://app.example"]);
for (const cmd of [new PutBucketWebsiteCommand({ Bucket, WebsiteConfiguration: { IndexDocument: { Suffix: "index.html" } } }), new GetBucketPolicyCommand({ Bucket })]) {
  await assert.rejects(s3.send(cmd), (e) => e.name === "NotImplemented" && e.$metadata.httpStatusCode === 501);
}
console.log("ok");
