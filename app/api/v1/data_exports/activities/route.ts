// GET /api/v1/data_exports/activities – the {type} list route at a static path (see atStaticPath)
import { GET as list } from '@/app/api/v1/data_exports/[type]/route';
import { atStaticPath } from '@/lib/http/with-auth';

export const dynamic = 'force-dynamic';
export const GET = atStaticPath(list, { type: 'activities' });
