-- TEMP placeholder for h-campaigns' 0011_campaigns.sql: the lead drops this commit at merge.
SELECT 1;
