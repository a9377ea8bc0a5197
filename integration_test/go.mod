module github.com/kmsenc/kmsenc/integration_test

go 1.26.0

require github.com/kmsenc/kmsenc v0.0.0

replace github.com/kmsenc/kmsenc => ../
