package launch

// ForgetSelfImage drops the process's sealed copies of the executable, so
// that a benchmark can measure a start that has to make one.
func ForgetSelfImage() {
	selfMu.Lock()
	defer selfMu.Unlock()
	for k, img := range selfImages {
		if img.file != nil {
			img.file.Close()
		}
		delete(selfImages, k)
	}
}
