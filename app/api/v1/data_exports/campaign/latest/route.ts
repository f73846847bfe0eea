// GET /api/v1/data_exports/campaign/latest – the {type} latest route at a static path (see atStaticPath)
import { GET as latest } from '@/app/api/v1/data_exports/[type]/latest/route';
import { atStaticPath } from '@/lib/http/with-auth';

export const dynamic = 'force-dynamic';
export const GET = atStaticPath(latest, { type: 'campaign' });
