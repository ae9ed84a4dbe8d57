-- request
ALTER TABLE `main`.`public`.`audit` RENAME TO `main`.`public`.`audit_log`
-- request
ALTER TABLE `main`.`public`.`orders` ADD COLUMNS (`extra` INT)
-- request
ALTER TABLE `main`.`public`.`orders` ADD COLUMNS (`region` STRING)
-- request
ALTER TABLE `main`.`public`.`orders` ALTER COLUMN `amount` TYPE DECIMAL(16,2)
-- request
ALTER TABLE `main`.`public`.`orders` ALTER COLUMN `extra` TYPE BIGINT
-- request
ALTER TABLE `main`.`public`.`orders` RENAME COLUMN `customer` TO `client`
-- request
COPY INTO `main`.`public`.`audit` FROM '/Volumes/main/stage/vol/it_db/snapshot/' FILEFORMAT = PARQUET FILES = ('RUN-N.parquet')
-- request
COPY INTO `main`.`public`.`orders` FROM '/Volumes/main/stage/vol/it_db/snapshot/' FILEFORMAT = PARQUET FILES = ('RUN-N.parquet')
-- request
CREATE SCHEMA IF NOT EXISTS `main`.`_sluice_probe_RUN`
-- request
CREATE SCHEMA IF NOT EXISTS `main`.`default`
-- request
CREATE SCHEMA IF NOT EXISTS `main`.`default`
-- request
CREATE SCHEMA IF NOT EXISTS `main`.`default`
-- request
CREATE SCHEMA IF NOT EXISTS `main`.`default`
-- request
CREATE SCHEMA IF NOT EXISTS `main`.`default`
-- request
CREATE SCHEMA IF NOT EXISTS `main`.`default`
-- request
CREATE SCHEMA IF NOT EXISTS `main`.`default`
-- request
CREATE SCHEMA IF NOT EXISTS `main`.`default`
-- request
CREATE SCHEMA IF NOT EXISTS `main`.`default`
-- request
CREATE SCHEMA IF NOT EXISTS `main`.`default`
-- request
CREATE SCHEMA IF NOT EXISTS `main`.`public`
-- request
CREATE SCHEMA IF NOT EXISTS `main`.`public`
-- request
CREATE TABLE IF NOT EXISTS `main`.`default`.`_sluice_state` (`pipeline` STRING NOT NULL, `epoch` STRING, `position` STRING, `version` DECIMAL(20,0), `commit_us` BIGINT, `applied_us` BIGINT)
-- request
CREATE TABLE IF NOT EXISTS `main`.`default`.`_sluice_state` (`pipeline` STRING NOT NULL, `epoch` STRING, `position` STRING, `version` DECIMAL(20,0), `commit_us` BIGINT, `applied_us` BIGINT)
-- request
CREATE TABLE IF NOT EXISTS `main`.`default`.`_sluice_state` (`pipeline` STRING NOT NULL, `epoch` STRING, `position` STRING, `version` DECIMAL(20,0), `commit_us` BIGINT, `applied_us` BIGINT)
-- request
CREATE TABLE IF NOT EXISTS `main`.`default`.`_sluice_state` (`pipeline` STRING NOT NULL, `epoch` STRING, `position` STRING, `version` DECIMAL(20,0), `commit_us` BIGINT, `applied_us` BIGINT)
-- request
CREATE TABLE IF NOT EXISTS `main`.`default`.`_sluice_state` (`pipeline` STRING NOT NULL, `epoch` STRING, `position` STRING, `version` DECIMAL(20,0), `commit_us` BIGINT, `applied_us` BIGINT)
-- request
CREATE TABLE IF NOT EXISTS `main`.`default`.`_sluice_state` (`pipeline` STRING NOT NULL, `epoch` STRING, `position` STRING, `version` DECIMAL(20,0), `commit_us` BIGINT, `applied_us` BIGINT)
-- request
CREATE TABLE IF NOT EXISTS `main`.`default`.`_sluice_state` (`pipeline` STRING NOT NULL, `epoch` STRING, `position` STRING, `version` DECIMAL(20,0), `commit_us` BIGINT, `applied_us` BIGINT)
-- request
CREATE TABLE IF NOT EXISTS `main`.`default`.`_sluice_state` (`pipeline` STRING NOT NULL, `epoch` STRING, `position` STRING, `version` DECIMAL(20,0), `commit_us` BIGINT, `applied_us` BIGINT)
-- request
CREATE TABLE IF NOT EXISTS `main`.`default`.`_sluice_state` (`pipeline` STRING NOT NULL, `epoch` STRING, `position` STRING, `version` DECIMAL(20,0), `commit_us` BIGINT, `applied_us` BIGINT)
-- request
CREATE TABLE IF NOT EXISTS `main`.`default`.`_sluice_state` (`pipeline` STRING NOT NULL, `epoch` STRING, `position` STRING, `version` DECIMAL(20,0), `commit_us` BIGINT, `applied_us` BIGINT)
-- request
CREATE TABLE IF NOT EXISTS `main`.`public`.`audit` (`what` STRING, `at` DATE, `_sluice_version` DECIMAL(20,0), `_sluice_seq` BIGINT, `_sluice_deleted` BOOLEAN) TBLPROPERTIES ('delta.columnMapping.mode' = 'name', 'delta.enableTypeWidening' = 'true')
-- request
CREATE TABLE IF NOT EXISTS `main`.`public`.`orders` (`id` INT NOT NULL, `customer` STRING, `amount` DECIMAL(12,2), `note` STRING, `tags` ARRAY<INT>, `doc` STRING, `placed` TIMESTAMP_NTZ, `Flag` BOOLEAN, `_sluice_version` DECIMAL(20,0), `_sluice_seq` BIGINT, `_sluice_deleted` BOOLEAN) TBLPROPERTIES ('delta.columnMapping.mode' = 'name', 'delta.enableTypeWidening' = 'true')
-- request
DROP SCHEMA IF EXISTS `main`.`_sluice_probe_RUN`
-- request
MERGE INTO `main`.`default`.`_sluice_state` AS t USING (SELECT :pipeline AS `pipeline`, :epoch AS `epoch`, :position AS `position`, CAST(:version AS DECIMAL(20,0)) AS `version`, CAST(:commit_us AS BIGINT) AS `commit_us`, CAST(:applied_us AS BIGINT) AS `applied_us`) AS s ON t.`pipeline` = s.`pipeline` WHEN MATCHED AND (t.`epoch` <> s.`epoch` OR t.`version` <= s.`version`) THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *
-- request
MERGE INTO `main`.`default`.`_sluice_state` AS t USING (SELECT :pipeline AS `pipeline`, :epoch AS `epoch`, :position AS `position`, CAST(:version AS DECIMAL(20,0)) AS `version`, CAST(:commit_us AS BIGINT) AS `commit_us`, CAST(:applied_us AS BIGINT) AS `applied_us`) AS s ON t.`pipeline` = s.`pipeline` WHEN MATCHED AND (t.`epoch` <> s.`epoch` OR t.`version` <= s.`version`) THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *
-- request
MERGE INTO `main`.`default`.`_sluice_state` AS t USING (SELECT :pipeline AS `pipeline`, :epoch AS `epoch`, :position AS `position`, CAST(:version AS DECIMAL(20,0)) AS `version`, CAST(:commit_us AS BIGINT) AS `commit_us`, CAST(:applied_us AS BIGINT) AS `applied_us`) AS s ON t.`pipeline` = s.`pipeline` WHEN MATCHED AND (t.`epoch` <> s.`epoch` OR t.`version` <= s.`version`) THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *
-- request
MERGE INTO `main`.`default`.`_sluice_state` AS t USING (SELECT :pipeline AS `pipeline`, :epoch AS `epoch`, :position AS `position`, CAST(:version AS DECIMAL(20,0)) AS `version`, CAST(:commit_us AS BIGINT) AS `commit_us`, CAST(:applied_us AS BIGINT) AS `applied_us`) AS s ON t.`pipeline` = s.`pipeline` WHEN MATCHED AND (t.`epoch` <> s.`epoch` OR t.`version` <= s.`version`) THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *
-- request
MERGE INTO `main`.`default`.`_sluice_state` AS t USING (SELECT :pipeline AS `pipeline`, :epoch AS `epoch`, :position AS `position`, CAST(:version AS DECIMAL(20,0)) AS `version`, CAST(:commit_us AS BIGINT) AS `commit_us`, CAST(:applied_us AS BIGINT) AS `applied_us`) AS s ON t.`pipeline` = s.`pipeline` WHEN MATCHED AND (t.`epoch` <> s.`epoch` OR t.`version` <= s.`version`) THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *
-- request
MERGE INTO `main`.`default`.`_sluice_state` AS t USING (SELECT :pipeline AS `pipeline`, :epoch AS `epoch`, :position AS `position`, CAST(:version AS DECIMAL(20,0)) AS `version`, CAST(:commit_us AS BIGINT) AS `commit_us`, CAST(:applied_us AS BIGINT) AS `applied_us`) AS s ON t.`pipeline` = s.`pipeline` WHEN MATCHED AND (t.`epoch` <> s.`epoch` OR t.`version` <= s.`version`) THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *
-- request
MERGE INTO `main`.`default`.`_sluice_state` AS t USING (SELECT :pipeline AS `pipeline`, :epoch AS `epoch`, :position AS `position`, CAST(:version AS DECIMAL(20,0)) AS `version`, CAST(:commit_us AS BIGINT) AS `commit_us`, CAST(:applied_us AS BIGINT) AS `applied_us`) AS s ON t.`pipeline` = s.`pipeline` WHEN MATCHED AND (t.`epoch` <> s.`epoch` OR t.`version` <= s.`version`) THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *
-- request
MERGE INTO `main`.`default`.`_sluice_state` AS t USING (SELECT :pipeline AS `pipeline`, :epoch AS `epoch`, :position AS `position`, CAST(:version AS DECIMAL(20,0)) AS `version`, CAST(:commit_us AS BIGINT) AS `commit_us`, CAST(:applied_us AS BIGINT) AS `applied_us`) AS s ON t.`pipeline` = s.`pipeline` WHEN MATCHED AND (t.`epoch` <> s.`epoch` OR t.`version` <= s.`version`) THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *
-- request
MERGE INTO `main`.`public`.`audit_log` AS t USING (SELECT * FROM read_files('/Volumes/main/stage/vol/it_db/changes/RUN-N.parquet', format => 'parquet')) AS s ON t.`_sluice_version` = s.`_sluice_version` AND t.`_sluice_seq` = s.`_sluice_seq` WHEN NOT MATCHED THEN INSERT (`what`, `at`, `_sluice_version`, `_sluice_seq`, `_sluice_deleted`) VALUES (s.`what`, s.`at`, s.`_sluice_version`, s.`_sluice_seq`, false)
-- request
MERGE INTO `main`.`public`.`audit` AS t USING (SELECT * FROM read_files('/Volumes/main/stage/vol/it_db/changes/RUN-N.parquet', format => 'parquet')) AS s ON t.`_sluice_version` = s.`_sluice_version` AND t.`_sluice_seq` = s.`_sluice_seq` WHEN NOT MATCHED THEN INSERT (`what`, `at`, `_sluice_version`, `_sluice_seq`, `_sluice_deleted`) VALUES (s.`what`, s.`at`, s.`_sluice_version`, s.`_sluice_seq`, false)
-- request
MERGE INTO `main`.`public`.`audit` AS t USING (SELECT * FROM read_files('/Volumes/main/stage/vol/it_db/changes/RUN-N.parquet', format => 'parquet')) AS s ON t.`_sluice_version` = s.`_sluice_version` AND t.`_sluice_seq` = s.`_sluice_seq` WHEN NOT MATCHED THEN INSERT (`what`, `at`, `_sluice_version`, `_sluice_seq`, `_sluice_deleted`) VALUES (s.`what`, s.`at`, s.`_sluice_version`, s.`_sluice_seq`, false)
-- request
MERGE INTO `main`.`public`.`orders` AS t USING (SELECT * FROM read_files('/Volumes/main/stage/vol/it_db/changes/RUN-N.parquet', format => 'parquet') QUALIFY row_number() OVER (PARTITION BY `id` ORDER BY `_sluice_version` DESC, `_sluice_seq` DESC) = 1) AS s ON t.`id` = s.`id` WHEN MATCHED AND (s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`)) AND s.`_sluice_deleted` THEN UPDATE SET `_sluice_deleted` = true, `_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq` WHEN MATCHED AND (s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`)) AND t.`_sluice_deleted` AND s.`_sluice_unchanged` IS NOT NULL AND substr(s.`_sluice_unchanged`, 9, 1) <> 'L' THEN UPDATE SET `_sluice_version` = raise_error('sluice: a change left columns unchanged, and the row it changed is not in the table') WHEN NOT MATCHED AND s.`_sluice_unchanged` IS NOT NULL AND substr(s.`_sluice_unchanged`, 9, 1) <> 'L' THEN INSERT (`_sluice_version`) VALUES (raise_error('sluice: a change left columns unchanged, and the row it changed is not in the table')) WHEN MATCHED AND (s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`)) THEN UPDATE SET `id` = CASE WHEN substr(s.`_sluice_unchanged`, 1, 1) = '1' THEN t.`id` ELSE s.`id` END, `customer` = CASE WHEN substr(s.`_sluice_unchanged`, 2, 1) = '1' THEN t.`customer` ELSE s.`customer` END, `amount` = CASE WHEN substr(s.`_sluice_unchanged`, 3, 1) = '1' THEN t.`amount` ELSE s.`amount` END, `note` = CASE WHEN substr(s.`_sluice_unchanged`, 4, 1) = '1' THEN t.`note` ELSE s.`note` END, `tags` = CASE WHEN substr(s.`_sluice_unchanged`, 5, 1) = '1' THEN t.`tags` ELSE s.`tags` END, `doc` = CASE WHEN substr(s.`_sluice_unchanged`, 6, 1) = '1' THEN t.`doc` ELSE s.`doc` END, `placed` = CASE WHEN substr(s.`_sluice_unchanged`, 7, 1) = '1' THEN t.`placed` ELSE s.`placed` END, `Flag` = CASE WHEN substr(s.`_sluice_unchanged`, 8, 1) = '1' THEN t.`Flag` ELSE s.`Flag` END, `_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq`, `_sluice_deleted` = false WHEN NOT MATCHED AND NOT s.`_sluice_deleted` AND s.`_sluice_unchanged` IS NULL THEN INSERT (`id`, `customer`, `amount`, `note`, `tags`, `doc`, `placed`, `Flag`, `_sluice_version`, `_sluice_seq`, `_sluice_deleted`) VALUES (s.`id`, s.`customer`, s.`amount`, s.`note`, s.`tags`, s.`doc`, s.`placed`, s.`Flag`, s.`_sluice_version`, s.`_sluice_seq`, false)
-- request
MERGE INTO `main`.`public`.`orders` AS t USING (SELECT * FROM read_files('/Volumes/main/stage/vol/it_db/changes/RUN-N.parquet', format => 'parquet') QUALIFY row_number() OVER (PARTITION BY `id` ORDER BY `_sluice_version` DESC, `_sluice_seq` DESC) = 1) AS s ON t.`id` = s.`id` WHEN MATCHED AND (s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`)) AND s.`_sluice_deleted` THEN UPDATE SET `_sluice_deleted` = true, `_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq` WHEN MATCHED AND (s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`)) THEN UPDATE SET `id` = s.`id`, `client` = s.`client`, `amount` = s.`amount`, `note` = s.`note`, `tags` = s.`tags`, `doc` = s.`doc`, `placed` = s.`placed`, `Flag` = s.`Flag`, `region` = s.`region`, `extra` = s.`extra`, `_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq`, `_sluice_deleted` = false WHEN NOT MATCHED AND NOT s.`_sluice_deleted` THEN INSERT (`id`, `client`, `amount`, `note`, `tags`, `doc`, `placed`, `Flag`, `region`, `extra`, `_sluice_version`, `_sluice_seq`, `_sluice_deleted`) VALUES (s.`id`, s.`client`, s.`amount`, s.`note`, s.`tags`, s.`doc`, s.`placed`, s.`Flag`, s.`region`, s.`extra`, s.`_sluice_version`, s.`_sluice_seq`, false)
-- request
MERGE INTO `main`.`public`.`orders` AS t USING (SELECT * FROM read_files('/Volumes/main/stage/vol/it_db/changes/RUN-N.parquet', format => 'parquet') QUALIFY row_number() OVER (PARTITION BY `id` ORDER BY `_sluice_version` DESC, `_sluice_seq` DESC) = 1) AS s ON t.`id` = s.`id` WHEN MATCHED AND (s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`)) AND s.`_sluice_deleted` THEN UPDATE SET `_sluice_deleted` = true, `_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq` WHEN MATCHED AND (s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`)) THEN UPDATE SET `id` = s.`id`, `client` = s.`client`, `amount` = s.`amount`, `note` = s.`note`, `tags` = s.`tags`, `doc` = s.`doc`, `placed` = s.`placed`, `Flag` = s.`Flag`, `region` = s.`region`, `extra` = s.`extra`, `_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq`, `_sluice_deleted` = false WHEN NOT MATCHED AND NOT s.`_sluice_deleted` THEN INSERT (`id`, `client`, `amount`, `note`, `tags`, `doc`, `placed`, `Flag`, `region`, `extra`, `_sluice_version`, `_sluice_seq`, `_sluice_deleted`) VALUES (s.`id`, s.`client`, s.`amount`, s.`note`, s.`tags`, s.`doc`, s.`placed`, s.`Flag`, s.`region`, s.`extra`, s.`_sluice_version`, s.`_sluice_seq`, false)
-- request
MERGE INTO `main`.`public`.`orders` AS t USING (SELECT * FROM read_files('/Volumes/main/stage/vol/it_db/changes/RUN-N.parquet', format => 'parquet') QUALIFY row_number() OVER (PARTITION BY `id` ORDER BY `_sluice_version` DESC, `_sluice_seq` DESC) = 1) AS s ON t.`id` = s.`id` WHEN MATCHED AND (s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`)) AND s.`_sluice_deleted` THEN UPDATE SET `_sluice_deleted` = true, `_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq` WHEN MATCHED AND (s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`)) THEN UPDATE SET `id` = s.`id`, `customer` = s.`customer`, `amount` = s.`amount`, `note` = s.`note`, `tags` = s.`tags`, `doc` = s.`doc`, `placed` = s.`placed`, `Flag` = s.`Flag`, `_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq`, `_sluice_deleted` = false WHEN NOT MATCHED AND NOT s.`_sluice_deleted` THEN INSERT (`id`, `customer`, `amount`, `note`, `tags`, `doc`, `placed`, `Flag`, `_sluice_version`, `_sluice_seq`, `_sluice_deleted`) VALUES (s.`id`, s.`customer`, s.`amount`, s.`note`, s.`tags`, s.`doc`, s.`placed`, s.`Flag`, s.`_sluice_version`, s.`_sluice_seq`, false)
-- request
MERGE INTO `main`.`public`.`orders` AS t USING (SELECT * FROM read_files('/Volumes/main/stage/vol/it_db/changes/RUN-N.parquet', format => 'parquet') QUALIFY row_number() OVER (PARTITION BY `id` ORDER BY `_sluice_version` DESC, `_sluice_seq` DESC) = 1) AS s ON t.`id` = s.`id` WHEN MATCHED AND (s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`)) AND s.`_sluice_deleted` THEN UPDATE SET `_sluice_deleted` = true, `_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq` WHEN MATCHED AND (s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`)) THEN UPDATE SET `id` = s.`id`, `customer` = s.`customer`, `amount` = s.`amount`, `note` = s.`note`, `tags` = s.`tags`, `doc` = s.`doc`, `placed` = s.`placed`, `Flag` = s.`Flag`, `region` = s.`region`, `_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq`, `_sluice_deleted` = false WHEN NOT MATCHED AND NOT s.`_sluice_deleted` THEN INSERT (`id`, `customer`, `amount`, `note`, `tags`, `doc`, `placed`, `Flag`, `region`, `_sluice_version`, `_sluice_seq`, `_sluice_deleted`) VALUES (s.`id`, s.`customer`, s.`amount`, s.`note`, s.`tags`, s.`doc`, s.`placed`, s.`Flag`, s.`region`, s.`_sluice_version`, s.`_sluice_seq`, false)
-- request
MERGE INTO `main`.`public`.`orders` AS t USING (SELECT * FROM read_files('/Volumes/main/stage/vol/it_db/changes/RUN-N.parquet', format => 'parquet') QUALIFY row_number() OVER (PARTITION BY `id` ORDER BY `_sluice_version` DESC, `_sluice_seq` DESC) = 1) AS s ON t.`id` = s.`id` WHEN MATCHED AND (s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`)) AND s.`_sluice_deleted` THEN UPDATE SET `_sluice_deleted` = true, `_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq` WHEN MATCHED AND (s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`)) THEN UPDATE SET `id` = s.`id`, `customer` = s.`customer`, `amount` = s.`amount`, `note` = s.`note`, `tags` = s.`tags`, `doc` = s.`doc`, `placed` = s.`placed`, `Flag` = s.`Flag`, `region` = s.`region`, `_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq`, `_sluice_deleted` = false WHEN NOT MATCHED AND NOT s.`_sluice_deleted` THEN INSERT (`id`, `customer`, `amount`, `note`, `tags`, `doc`, `placed`, `Flag`, `region`, `_sluice_version`, `_sluice_seq`, `_sluice_deleted`) VALUES (s.`id`, s.`customer`, s.`amount`, s.`note`, s.`tags`, s.`doc`, s.`placed`, s.`Flag`, s.`region`, s.`_sluice_version`, s.`_sluice_seq`, false)
-- request
MERGE INTO `main`.`public`.`orders` AS t USING (SELECT * FROM read_files('/Volumes/main/stage/vol/it_db/changes/RUN-N.parquet', format => 'parquet') QUALIFY row_number() OVER (PARTITION BY `id` ORDER BY `_sluice_version` DESC, `_sluice_seq` DESC) = 1) AS s ON t.`id` = s.`id` WHEN MATCHED AND (s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`)) AND s.`_sluice_deleted` THEN UPDATE SET `_sluice_deleted` = true, `_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq` WHEN MATCHED AND (s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`)) THEN UPDATE SET `id` = s.`id`, `customer` = s.`customer`, `amount` = s.`amount`, `note` = s.`note`, `tags` = s.`tags`, `doc` = s.`doc`, `placed` = s.`placed`, `Flag` = s.`Flag`, `region` = s.`region`, `_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq`, `_sluice_deleted` = false WHEN NOT MATCHED AND NOT s.`_sluice_deleted` THEN INSERT (`id`, `customer`, `amount`, `note`, `tags`, `doc`, `placed`, `Flag`, `region`, `_sluice_version`, `_sluice_seq`, `_sluice_deleted`) VALUES (s.`id`, s.`customer`, s.`amount`, s.`note`, s.`tags`, s.`doc`, s.`placed`, s.`Flag`, s.`region`, s.`_sluice_version`, s.`_sluice_seq`, false)
-- request
MERGE INTO `main`.`public`.`orders` AS t USING (SELECT * FROM read_files('/Volumes/main/stage/vol/it_db/changes/RUN-N.parquet', format => 'parquet') QUALIFY row_number() OVER (PARTITION BY `id` ORDER BY `_sluice_version` DESC, `_sluice_seq` DESC) = 1) AS s ON t.`id` = s.`id` WHEN MATCHED AND (s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`)) AND s.`_sluice_deleted` THEN UPDATE SET `_sluice_deleted` = true, `_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq` WHEN MATCHED AND (s.`_sluice_version` > t.`_sluice_version` OR (s.`_sluice_version` = t.`_sluice_version` AND s.`_sluice_seq` > t.`_sluice_seq`)) THEN UPDATE SET `id` = s.`id`, `customer` = s.`customer`, `amount` = s.`amount`, `note` = s.`note`, `tags` = s.`tags`, `doc` = s.`doc`, `placed` = s.`placed`, `Flag` = s.`Flag`, `region` = s.`region`, `extra` = s.`extra`, `_sluice_version` = s.`_sluice_version`, `_sluice_seq` = s.`_sluice_seq`, `_sluice_deleted` = false WHEN NOT MATCHED AND NOT s.`_sluice_deleted` THEN INSERT (`id`, `customer`, `amount`, `note`, `tags`, `doc`, `placed`, `Flag`, `region`, `extra`, `_sluice_version`, `_sluice_seq`, `_sluice_deleted`) VALUES (s.`id`, s.`customer`, s.`amount`, s.`note`, s.`tags`, s.`doc`, s.`placed`, s.`Flag`, s.`region`, s.`extra`, s.`_sluice_version`, s.`_sluice_seq`, false)
-- request
SELECT `epoch`, `position`, `version`, `commit_us`, `applied_us` FROM `main`.`default`.`_sluice_state` WHERE `pipeline` = :pipeline
-- request
SELECT `epoch`, `position`, `version`, `commit_us`, `applied_us` FROM `main`.`default`.`_sluice_state` WHERE `pipeline` = :pipeline
-- request
SELECT `epoch`, `position`, `version`, `commit_us`, `applied_us` FROM `main`.`default`.`_sluice_state` WHERE `pipeline` = :pipeline
-- request
SELECT `epoch`, `position`, `version`, `commit_us`, `applied_us` FROM `main`.`default`.`_sluice_state` WHERE `pipeline` = :pipeline
-- request
SELECT `epoch`, `position`, `version`, `commit_us`, `applied_us` FROM `main`.`default`.`_sluice_state` WHERE `pipeline` = :pipeline
-- request
SELECT `epoch`, `position`, `version`, `commit_us`, `applied_us` FROM `main`.`default`.`_sluice_state` WHERE `pipeline` = :pipeline
-- request
SELECT `epoch`, `position`, `version`, `commit_us`, `applied_us` FROM `main`.`default`.`_sluice_state` WHERE `pipeline` = :pipeline
-- request
SELECT `epoch`, `position`, `version`, `commit_us`, `applied_us` FROM `main`.`default`.`_sluice_state` WHERE `pipeline` = :pipeline
-- request
SELECT `epoch`, `position`, `version`, `commit_us`, `applied_us` FROM `main`.`default`.`_sluice_state` WHERE `pipeline` = :pipeline
-- request
SELECT `id`, `client`, `amount`, `note`, `tags`, `doc`, `placed`, `Flag`, `region`, `extra` FROM `main`.`public`.`orders` WHERE NOT `_sluice_deleted`
-- request
SELECT `what`, `at` FROM `main`.`public`.`audit_log` WHERE NOT `_sluice_deleted`
-- request
SELECT column_name, full_data_type FROM `main`.information_schema.columns WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position
-- request
SELECT column_name, full_data_type FROM `main`.information_schema.columns WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position
-- request
SELECT column_name, full_data_type FROM `main`.information_schema.columns WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position
-- request
SELECT column_name, full_data_type FROM `main`.information_schema.columns WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position
-- request
SELECT column_name, full_data_type FROM `main`.information_schema.columns WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position
-- request
SELECT column_name, full_data_type FROM `main`.information_schema.columns WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position
-- request
SELECT column_name, full_data_type FROM `main`.information_schema.columns WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position
-- request
SELECT column_name, full_data_type FROM `main`.information_schema.columns WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position
-- request
SELECT column_name, full_data_type FROM `main`.information_schema.columns WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position
-- request
SELECT column_name, full_data_type FROM `main`.information_schema.columns WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position
-- request
SELECT count(*) FROM `main`.`public`.`audit`
-- request
SELECT count(*) FROM `main`.`public`.`orders`
-- request
SELECT current_user(), current_catalog()
-- request
UPDATE `main`.`public`.`audit` SET `_sluice_deleted` = true, `_sluice_version` = CAST(:version AS DECIMAL(20,0)), `_sluice_seq` = -1 WHERE NOT `_sluice_deleted` AND `_sluice_version` <= CAST(:version AS DECIMAL(20,0))
