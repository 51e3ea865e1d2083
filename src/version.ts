/** zdm's version, written into every plan file (test/unit/version.test.ts keeps it equal to package.json's). */
export const ZDM_VERSION = '0.1.0';
