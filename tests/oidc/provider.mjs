// A real OpenID Connect provider (the npm `oidc-provider` package) on loopback, for the sign-in tests.
//
//   node tests/oidc/provider.mjs CONFIG.json
//
// CONFIG.json: {"clientId", "clientSecret", "redirectUris": [...], "postLogoutRedirectUris": [...],
//   "idTokenTTL": seconds, "accounts": {"<login>": {"password", "email", "email_verified",
//   "groups": [...], "given_name", "family_name", "active": true}}}
// Accounts are read from the file at every look-up, so a test changes a person's groups or
// deactivates them by rewriting it. The provider listens on 127.0.0.1 on a free port and prints
// {"issuer": "http://127.0.0.1:PORT"} on one line once it answers. Its pages load nothing from
// elsewhere (the package's own pages would fetch a web font).

import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider, { interactionPolicy } from 'oidc-provider';

const configPath = process.argv[2];
const readConfig = () => JSON.parse(readFileSync(configPath, 'utf8'));
const config = readConfig();

const page = (title, body) => `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title></head>
<body><main><h1>${title}</h1>${body}</main></body></html>`;
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function findPerson(login) {
  const person = readConfig().accounts[login];
  return person && person.active !== false ? person : undefined;
}

async function formBody(req) {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  return Object.fromEntries(new URLSearchParams(raw));
}

// A session whose account has since been deactivated needs a new login (with prompt=none, the
// client gets login_required), as a real provider ends a deactivated person's sessions.
const { Check } = interactionPolicy;
const policy = interactionPolicy.base();
policy.get('login').checks.add(
  new Check('account_inactive', 'the account is deactivated', (ctx) => {
    const { accountId } = ctx.oidc.session;
    return !accountId || findPerson(accountId) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
  }),
  0,
);

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const key = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' };

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: config.clientId,
        client_secret: config.clientSecret,
        redirect_uris: config.redirectUris,
        post_logout_redirect_uris: config.postLogoutRedirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [key] },
    cookies: { keys: ['test-only-cookie-key'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['given_name', 'family_name', 'preferred_username'],
      groups: ['groups'],
    },
    pkce: { required: () => true },
    ttl: { IdToken: config.idTokenTTL || 3600 },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = page(
            'Sign out of the test provider?',
            `${form}<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>`,
          );
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = page('Signed out', '<p>You are signed out of the test provider.</p>');
        },
      },
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Provider error', `<pre>${escape(JSON.stringify(out))}</pre>`);
    },
    interactions: { policy, url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (ctx, id) => {
      const person = findPerson(id);
      if (!person) return undefined;
      return {
        accountId: id,
        claims: async () => ({
          sub: id,
          email: person.email,
          email_verified: person.email_verified,
          given_name: person.given_name,
          family_name: person.family_name,
          preferred_username: id,
          groups: person.groups || [],
        }),
      };
    },
  });

  const loginForm = (uid, error = '') =>
    page(
      'Test provider sign-in',
      `${error ? `<p role="alert">${escape(error)}</p>` : ''}
      <form method="post" action="/interaction/${uid}">
        <label for="login">Login</label> <input id="login" name="login" autocomplete="username" required>
        <label for="password">Password</label> <input id="password" name="password" type="password" required>
        <button type="submit">Sign in</button>
      </form>`,
    );

  // Our own interactions: a login form checked against the accounts file, and consent given
  // at once (the tracker is the organisation's own application).
  provider.use(async (ctx, next) => {
    const match = ctx.path.match(/^\/interaction\/([\w-]+)$/);
    if (!match) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const { prompt } = details;
    if (prompt.name === 'login') {
      if (ctx.method === 'GET') {
        ctx.type = 'html';
        ctx.body = loginForm(details.uid);
        return undefined;
      }
      const { login, password } = await formBody(ctx.req);
      const person = findPerson(login);
      if (!person || person.password !== password) {
        ctx.type = 'html';
        ctx.body = loginForm(details.uid, 'Wrong login or password.');
        return undefined;
      }
      const returnTo = await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: login } });
      ctx.status = 303;
      return ctx.redirect(returnTo);
    }
    // consent
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    const grantId = await grant.save();
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } });
    ctx.status = 303;
    return ctx.redirect(returnTo);
  });

  provider.on('server_error', (ctx, error) => console.error('server_error', error));
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

process.on('SIGTERM', () => process.exit(0));
