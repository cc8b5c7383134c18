// A client of node-oidc-provider: a DPoP-bound token by client credentials, then the API with proofs.
// Usage: node provider_flow.mjs <issuer> <API URL>
import { calculateThumbprint, generateKeyPair, generateProof } from 'dpop';

const [issuer, api] = process.argv.slice(2);
const keypair = await generateKeyPair('ES256');
const basic = 'Basic ' + Buffer.from('notes-client:a-client-secret-for-the-test').toString('base64');
const tokenUrl = `${issuer}/token`;
const r = await fetch(tokenUrl, {
  method: 'POST',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: basic,
    dpop: await generateProof(keypair, tokenUrl, 'POST'),
  },
  body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'notes:read' }),
});
const token = await r.json();
const out = { jkt: await calculateThumbprint(keypair.publicKey), token_status: r.status, token_type: token.token_type, token_error: token.error_description };

async function call(scheme, proof) {
  const headers = { authorization: `${scheme} ${token.access_token}` };
  if (proof) headers.dpop = proof;
  const res = await fetch(api, { headers });
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: await res.text() };
}

const proof = await generateProof(keypair, api, 'GET', undefined, token.access_token);
out.dpop = await call('DPoP', proof);
out.replayed = await call('DPoP', proof);
out.bearer = await call('Bearer');
console.log(JSON.stringify(out));
