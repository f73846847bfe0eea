-- The run's claim counter, the fencing token of its attempts: every claim (export or delivery) adds
-- one and nothing lowers it; a worker's later transitions compare the value its claim answered.
ALTER TABLE "export_runs" ADD COLUMN "claim" integer DEFAULT 0 NOT NULL;
