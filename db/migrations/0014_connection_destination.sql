-- A destination other than SFTP (cloud storage, databases): its non-secret settings, validated by its
-- kind's schema (lib/destinations); its secret stays in secret_ciphertext, encrypted like SFTP's.
ALTER TABLE "connections" ADD COLUMN "destination" jsonb;
