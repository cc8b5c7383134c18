// A DPoP client made with panva's `dpop` package (RFC 9449): logs in at the token endpoint with a
// proof, calls the API with proofs, tries the attacks a stolen token allows, and prints what it saw.
// Usage: node dpop_flow.mjs <base URL> <alg>
import { calculateThumbprint, generateKeyPair, generateProof } from 'dpop';

const [base, alg] = process.argv.slice(2);
const keypair = await generateKeyPair(alg);
const thief = await generateKeyPair(alg);
const out = { jkt: await calculateThumbprint(keypair.publicKey) };

async function token(form, { proof = true } = {}) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (proof) headers.dpop = await generateProof(keypair, `${base}/auth/token`, 'POST');
  const r = await fetch(`${base}/auth/token`, { method: 'POST', headers, body: new URLSearchParams(form) });
  return { status: r.status, body: await r.json() };
}

async function call(path, accessToken, { scheme = 'DPoP', proof, nonce, key = keypair, htu } = {}) {
  const headers = { authorization: `${scheme} ${accessToken}` };
  const made = proof ?? (await generateProof(key, htu ?? `${base}${path}`, 'GET', nonce, accessToken));
  if (scheme === 'DPoP') headers.dpop = made;
  const r = await fetch(`${base}${path}`, { headers });
  const text = await r.text();
  return {
    status: r.status,
    challenge: r.headers.get('www-authenticate'),
    nonce: r.headers.get('dpop-nonce'),
    proof: made,
    body: r.status === 200 ? JSON.parse(text) : text,
  };
}

out.login = await token({ grant_type: 'password', username: 'alice', password: 'wonderland' });
const at = out.login.body.access_token;
out.me = await call('/api/me', at);
out.again = await call('/api/me', at); // the token is cached now: a new proof still passes
out.replayed = await call('/api/me', at, { proof: out.me.proof });
out.bearer = await call('/api/me', at, { scheme: 'Bearer' });
out.stolen = await call('/api/me', at, { key: thief });
out.wrong_url = await call('/api/me', at, { htu: `${base}/api/other` });
out.nonce_first = await call('/nonce/me', at);
out.nonce_retry = await call('/nonce/me', at, { nonce: out.nonce_first.nonce });
out.refreshed = await token({ grant_type: 'refresh_token', refresh_token: out.login.body.refresh_token });
out.me_refreshed = await call('/api/me', out.refreshed.body.access_token);
out.refresh_unproven = await token({ grant_type: 'refresh_token', refresh_token: out.refreshed.body.refresh_token }, { proof: false });
out.refresh_after = await token({ grant_type: 'refresh_token', refresh_token: out.refreshed.body.refresh_token });
out.me_after_theft = await call('/api/me', out.refreshed.body.access_token);
console.log(JSON.stringify(out));
