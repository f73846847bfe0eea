// The interactive reference itself: Scalar's renderer (bundled from our own build, no CDN) over
// /api/v1/openapi.json. Everything that would reach another origin is off — its own fonts, the
// assistant, telemetry, the developer toolbar — so it stays within the site's Content-Security-Policy;
// "Test request" calls go to this server, the document's one server.
'use client';
import { ApiReferenceReact } from '@scalar/api-reference-react';
import '@scalar/api-reference-react/style.css';
import { useMemo } from 'react';

const CONFIGURATION = {
  url: '/api/v1/openapi.json',
  layout: 'classic',
  theme: 'default',
  withDefaultFonts: false,
  telemetry: false,
  agent: { disabled: true },
  showDeveloperTools: 'never',
  hideDarkModeToggle: true,
  forceDarkModeState: 'light',
  documentDownloadType: 'json',
  hideClientButton: false,
  defaultOpenAllTags: false,
  // The document's own tags and operation order, as /api/v1/openapi.json lists them.
  operationTitleSource: 'summary',
} as const;

export default function ScalarReference() {
  // The page's own origin, whatever host name the document was generated for: "Test Request" stays
  // same-origin (connect-src 'self') and carries this site's session.
  const configuration = useMemo(() => ({ ...CONFIGURATION, servers: [{ url: window.location.origin, description: 'This server' }] }), []);
  return <ApiReferenceReact configuration={configuration} />;
}
