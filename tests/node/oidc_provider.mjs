// node-oidc-provider (OpenID Certified) issuing DPoP-bound JWT access tokens to a client-credentials client.
// Usage: node oidc_provider.mjs <port> <audience>; prints "ready" once it listens.
import Provider from 'oidc-provider';

const [port, audience] = process.argv.slice(2);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: 'notes-client',
      client_secret: 'a-client-secret-for-the-test',
      grant_types: ['client_credentials'],
      id_token_signed_response_alg: 'ES256',
      redirect_uris: [],
      response_types: [],
    },
  ],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    dPoP: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'notes:read',
        audience,
        accessTokenFormat: 'jwt',
        accessTokenTTL: 300,
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  jwks: JSON.parse(process.env.PROVIDER_JWKS),
});
provider.listen(Number(port), '127.0.0.1', () => console.log('ready'));
