import { basename } from 'node:path';

export const handler = async () => ({ typeModule: true, file: basename(import.meta.url) });
