// /docs/api's interactive reference, loaded in the browser only (the renderer is a browser app);
// until it arrives, a short note says where the machine-readable document is.
'use client';
import dynamic from 'next/dynamic';

const ScalarReference = dynamic(() => import('./scalar-reference'), {
  ssr: false,
  loading: () => (
    <p className="px-5 py-8 text-sm text-slate-500" role="status">
      Loading the interactive reference…
    </p>
  ),
});

export function InteractiveApiReference() {
  return (
    <div className="dde-api-reference" data-testid="api-reference">
      <ScalarReference />
    </div>
  );
}
