/** The sign-in page: paste a gateway key (org-admin, team-admin or viewer); it goes to the server once. */
import { escapeHtml as h } from '../../../domain/reports/format';
import { bare } from '../layout';

export function signInPage(error?: string): string {
  return bare(
    'Sign in to the console',
    `${error ? `<p class="flash error" role="alert">${h(error)}</p>` : ''}
<form method="post" action="/console/sign-in" class="sign-in" autocomplete="off">
<label>Gateway key <input name="key" type="password" placeholder="ggk_…" required autofocus></label>
<button>Sign in</button></form>
<p class="small">An org-admin, team-admin or viewer key. The key stays on the server; your browser keeps only a
session cookie for 30 minutes. Make a key with <code>groq-governor keys bootstrap</code> or
<code>keys create --role viewer</code>.</p>`,
  );
}
